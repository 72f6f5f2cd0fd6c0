namespace SaeGuard.Probes;

/// <summary>The verdict on one text: score, label and the features that drove it.</summary>
public sealed record GuardResult
{
    public string Text { get; init; } = "";
    /// <summary>P(harmful) from the probe.</summary>
    public double Score { get; init; }
    /// <summary>"harmful" when Score ≥ Threshold, else "benign" (<see cref="Data.Labels.ForScore"/>).</summary>
    public string Label { get; init; } = "";
    public double Threshold { get; init; }
    public string Probe { get; init; } = "";
    /// <summary>Features that pushed the score up (positive contribution to the logit), largest first;
    /// the ones that pushed it down are in <see cref="NegativeFeatures"/>.</summary>
    public IReadOnlyList<FeatureContribution> TopFeatures { get; init; } = Array.Empty<FeatureContribution>();
    /// <summary>Features that pushed the score down, most negative first.</summary>
    public IReadOnlyList<FeatureContribution> NegativeFeatures { get; init; } = Array.Empty<FeatureContribution>();
    /// <summary>Span guard: the logit's constant part (probe offsets + decoder bias), so that
    /// logit = Offset + Σ contributions + Residual over every feature.</summary>
    public double? Offset { get; init; }
    /// <summary>Span guard: the text of the span that decided.</summary>
    public string? Span { get; init; }
    /// <summary>Hybrid/dense: the part of the logit the SAE does not explain.</summary>
    public double? Residual { get; init; }
    /// <summary>With <see cref="ScoreOptions.IncludeTokens"/>: each ordinary token's activations of the top features.</summary>
    public IReadOnlyList<TokenActivation>? Tokens { get; init; }
    /// <summary>Model tokens read (special tokens included).</summary>
    public int TokenCount { get; init; }
    /// <summary>True when the text was longer than the model takes and was cut.</summary>
    public bool TokensTruncated { get; init; }
}
