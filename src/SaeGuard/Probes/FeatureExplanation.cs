namespace SaeGuard.Probes;

/// <summary>A feature the probes rely on: its weights, class means and top tokens and prompts.</summary>
public sealed record FeatureExplanation
{
    public int Id { get; init; }
    public double FiringRate { get; init; }
    public string Label { get; init; } = "";
    /// <summary>Its <see cref="FeatureWeights">weight</see> under the decision probe (what the browser shows as probe weight).</summary>
    public double Weight { get; init; }
    /// <summary>Its weight in the L1 SAE probe and the top-k SAE probe (same units; 0 = unused).</summary>
    public double SaeWeight { get; init; }
    public double SaeTopKWeight { get; init; }
    /// <summary>v·dⱼ: the dense direction projected on the feature's decoder row.</summary>
    public double DenseProjection { get; init; }
    public double MeanHarmful { get; init; }
    public double MeanBenign { get; init; }
    public List<TokenExample> TopTokens { get; init; } = new();
    public List<PromptExample> TopPrompts { get; init; } = new();
}
