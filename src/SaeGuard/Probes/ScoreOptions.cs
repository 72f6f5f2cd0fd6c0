namespace SaeGuard.Probes;

/// <summary>How <see cref="GuardClassifier.Score(IReadOnlyList{string}, ScoreOptions?)"/> scores.</summary>
public sealed record ScoreOptions
{
    /// <summary>sae, sae_topk, dense or hybrid; null = the probe folder's decision.</summary>
    public string? Probe { get; init; }
    /// <summary>Overrides the stored threshold.</summary>
    public double? Threshold { get; init; }
    public int TopFeatures { get; init; } = 5;
    /// <summary>Also return each token's activations of the top features.</summary>
    public bool IncludeTokens { get; init; }
}
