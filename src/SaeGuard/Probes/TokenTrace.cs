namespace SaeGuard.Probes;

/// <summary>Every token of a text (special ones included, flagged) with the activations of <see cref="Features"/>.</summary>
public sealed record TokenTrace(IReadOnlyList<int> Features, IReadOnlyList<TokenActivation> Tokens, bool Truncated);
