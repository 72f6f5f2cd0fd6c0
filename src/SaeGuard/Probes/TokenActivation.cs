namespace SaeGuard.Probes;

/// <summary>One model token with the SAE activations of some features (in the order they were asked for).</summary>
public sealed record TokenActivation(string Token, float[] Activations, bool IsSpecial = false);
