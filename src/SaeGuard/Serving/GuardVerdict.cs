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
    /// <summary>Features that pushed the score up (positive contribution), largest first, each with the token it fired on.</summary>
    public IReadOnlyList<FeatureContribution> TopFeatures { get; init; } = Array.Empty<FeatureContribution>();
    /// <summary>Features that pushed the score down, most negative first (kept apart from <see cref="TopFeatures"/>).</summary>
    public IReadOnlyList<FeatureContribution> NegativeFeatures { get; init; } = Array.Empty<FeatureContribution>();
    /// <summary>The logit's constant part, and the part the SAE does not reconstruct (where the probe has them):
    /// logit = Offset + Σ contributions of all features + Residual.</summary>
    public double? Offset { get; init; }
    public double? Residual { get; init; }
    /// <summary>Model tokens read (special tokens included).</summary>
    public int Tokens { get; init; }
    /// <summary>True when the text was longer than the model takes and was cut.</summary>
    public bool TokensTruncated { get; init; }

    public bool IsHarmful => Label == Labels.Harmful;

    public static GuardVerdict From(GuardResult r) => new()
    {
        Score = r.Score, Label = r.Label, Threshold = r.Threshold, TopFeatures = r.TopFeatures,
        NegativeFeatures = r.NegativeFeatures, Offset = r.Offset, Residual = r.Residual,
        Tokens = r.TokenCount, TokensTruncated = r.TokensTruncated,
    };
}
