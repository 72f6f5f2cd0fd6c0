namespace SaeGuard.Features;

/// <summary>
/// A window of one document around a centre token, with the feature's activation at every token
/// (special tokens are not part of the stream and so not shown).
/// </summary>
public sealed record ContextExample
{
    public int Doc { get; init; }
    /// <summary>Position of the centre token in its document.</summary>
    public int Position { get; init; }
    public List<string> Tokens { get; init; } = new();
    public List<float> Values { get; init; } = new();
    /// <summary>Index of the centre token in <see cref="Tokens"/>.</summary>
    public int Centre { get; init; }
    /// <summary>The feature's activation at the centre token.</summary>
    public float Value { get; init; }
    public string? Label { get; init; }
    public string? Category { get; init; }
}

/// <summary>Contexts whose centre activation lies in (Low, High]; <see cref="Count"/> = all tokens there.</summary>
public sealed record QuantileBand(string Name, double Low, double High, long Count, List<ContextExample> Examples);

/// <summary>Log-binned histogram of the non-zero activations: Counts[i] in [Edges[i], Edges[i+1]).</summary>
public sealed record DensityHistogram(double[] Edges, long[] Counts);

/// <summary>A feature's behaviour on the tokens of one group (a label or a category) against all other tokens.</summary>
public sealed record GroupStat
{
    public string Group { get; init; } = "";
    public long Tokens { get; init; }
    public long Fires { get; init; }
    public double FiringRate { get; init; }
    /// <summary>Mean of the positive values in the group (0 when it never fires there).</summary>
    public double MeanActive { get; init; }
    /// <summary><see cref="Analysis.CategorySpecificity"/> log-odds ratio of firing in the group versus outside it.</summary>
    public double Specificity { get; init; }
    public double SpecificityLow { get; init; }
    public double SpecificityHigh { get; init; }
}

public sealed record Neighbour(int Id, double Cosine, string Label);

/// <summary>Everything one feature's page shows.</summary>
public sealed record FeaturePage
{
    public int Id { get; init; }
    /// <summary>Up to four distinct top-token texts, strongest first.</summary>
    public string Label { get; init; } = "";
    public long Fires { get; init; }
    public double FiringRate { get; init; }
    public double MeanActive { get; init; }
    public double Max { get; init; }
    public List<ContextExample> Top { get; init; } = new();
    public List<QuantileBand> Bands { get; init; } = new();
    public List<ContextExample> NonFiring { get; init; } = new();
    public DensityHistogram Histogram { get; init; } = new(Array.Empty<double>(), Array.Empty<long>());
    public List<GroupStat> ByLabel { get; init; } = new();
    public List<GroupStat> ByCategory { get; init; } = new();
    public List<Neighbour> Neighbours { get; init; } = new();
    /// <summary>Tokens the decoder row promotes / suppresses through the model's unembedding (null without a model).</summary>
    public TopLogits? Logits { get; init; }
    /// <summary>The probe folder's weight (Probes.FeatureWeights), null without a probe.</summary>
    public double? ProbeWeight { get; init; }
    /// <summary>ProbeWeight × MeanActive: the logit change at the feature's mean firing strength.</summary>
    public double? ProbeContribution { get; init; }
}
