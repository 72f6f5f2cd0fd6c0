namespace SaeGuard.Probes;

/// <summary>One model token with the SAE activations of some features (in the order they were asked for).</summary>
public sealed record TokenActivation(string Token, float[] Activations, bool IsSpecial = false);

/// <summary>Every token of a text (special ones included, flagged) with the activations of <see cref="Features"/>.</summary>
public sealed record TokenTrace(IReadOnlyList<int> Features, IReadOnlyList<TokenActivation> Tokens, bool Truncated);
