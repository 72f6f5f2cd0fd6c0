namespace SaeGuard.Probes;

/// <summary>A token where a feature fired, with a few tokens of context either side.</summary>
public sealed record TokenExample(string Token, float Value, string Before, string After, string Source);
