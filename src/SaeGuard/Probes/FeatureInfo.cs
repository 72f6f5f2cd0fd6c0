namespace SaeGuard.Probes;

/// <summary>Short facts on every SAE feature: how often and how strongly it fires, and where.</summary>
public sealed record FeatureInfo
{
    public int Id { get; init; }
    public double FiringRate { get; init; }
    /// <summary>Its top tokens joined, e.g. "bomb, explosives, detonate".</summary>
    public string Label { get; init; } = "";
    public double MeanWhenActive { get; init; }
    public double MaxActivation { get; init; }
    /// <summary>Power-of-two bins of its non-zero values (null in folders written before it was added).</summary>
    public ActivationHistogram? Histogram { get; init; }
    /// <summary>Its strongest tokens in context, strongest first, at most one per prompt.</summary>
    public List<TokenContext>? Contexts { get; init; }
    /// <summary>Its <see cref="FeatureWeights">weight</see> under the folder's decision probe (0 = unused).</summary>
    public double Weight { get; init; }
}
