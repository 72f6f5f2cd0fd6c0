using SaeGuard.Data;
using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>A served verdict: the <see cref="GuardResult"/> of the folder's decision probe, without the text.</summary>
public sealed record GuardVerdict
{
    /// <summary>Probability of "harmful", in [0, 1].</summary>
    public double Score { get; init; }
    /// <summary>"harmful" or "benign".</summary>
    public string Label { get; init; } = "";
    public double Threshold { get; init; }
    /// <summary>Features with the largest |contribution|, largest first.</summary>
    public IReadOnlyList<FeatureContribution> TopFeatures { get; init; } = Array.Empty<FeatureContribution>();
    /// <summary>Model tokens read (special tokens included).</summary>
    public int Tokens { get; init; }
    /// <summary>True when the text was longer than the model takes and was cut.</summary>
    public bool TokensTruncated { get; init; }

    public bool IsHarmful => Label == Labels.Harmful;

    public static GuardVerdict From(GuardResult r) => new()
    {
        Score = r.Score, Label = r.Label, Threshold = r.Threshold, TopFeatures = r.TopFeatures,
        Tokens = r.TokenCount, TokensTruncated = r.TokensTruncated,
    };
}
