namespace SaeGuard.Serving;

/// <summary>
/// A trained guard: scores texts as harmful/benign and explains a score by SAE features.
/// The HTTP server, the chat middleware and the feature browser use only this interface, so any
/// probe (the SAE-feature probe of <c>saeguard probe</c>, or <see cref="SaeGuardScorer"/>) plugs in
/// through an adapter. Implementations must be thread-safe: the server calls <see cref="Score"/>
/// from its batching worker and <see cref="Explain"/> from request threads at the same time.
/// </summary>
public interface IGuardScorer
{
    /// <summary>What the guard is (model, layer, SAE shape, threshold, metrics), for /v1/info.</summary>
    GuardInfo Info { get; }

    /// <summary>One verdict per text, in order. Texts are scored independently: the result for a
    /// text must not depend on which other texts share the batch.</summary>
    IReadOnlyList<GuardVerdict> Score(IReadOnlyList<string> texts);

    /// <summary>The activation of SAE feature <paramref name="featureId"/> on every token of
    /// <paramref name="text"/> (special tokens included, flagged). Throws
    /// <see cref="ArgumentOutOfRangeException"/> for an id outside [0, Info.Sae.DSae).</summary>
    TokenActivations Explain(string text, int featureId);
}

/// <summary>Per-feature facts for the feature browser and /v1/features.</summary>
public interface IFeatureCatalog
{
    /// <summary>The feature with this id, or null when the catalog has none.</summary>
    FeatureSummary? Get(int id);

    /// <summary>Every feature the catalog describes, in id order.</summary>
    IEnumerable<FeatureSummary> List();
}

public sealed record SaeInfo
{
    public int DIn { get; init; }
    public int DSae { get; init; }
    public string Architecture { get; init; } = "";
    public int K { get; init; }
}

public sealed record GuardInfo
{
    /// <summary>Model name (e.g. all-MiniLM-L6-v2).</summary>
    public string Model { get; init; } = "";
    public int Layer { get; init; }
    public string Hook { get; init; } = "resid_post";
    public SaeInfo Sae { get; init; } = new();
    /// <summary>How token features become one vector per text: mean | max | last.</summary>
    public string Pooling { get; init; } = "mean";
    /// <summary>Score at or above which a text is labelled harmful.</summary>
    public double Threshold { get; init; } = 0.5;
    /// <summary>Longest input in model tokens; longer texts are truncated (reported per verdict).</summary>
    public int MaxTokens { get; init; }
    /// <summary>Probe metrics summary (auroc, accuracy, …), as the probe reported them.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}

/// <summary>One feature's share of a verdict, in logit units (sign: + pushes toward harmful).</summary>
public sealed record FeatureContribution(int Id, double Contribution, string Label);

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

    public bool IsHarmful => Label == GuardLabels.Harmful;
}

public static class GuardLabels
{
    public const string Harmful = "harmful";
    public const string Benign = "benign";

    public static string For(double score, double threshold) => score >= threshold ? Harmful : Benign;
}

public sealed record TokenActivation(string Token, double Activation, bool IsSpecial);

public sealed record TokenActivations(int FeatureId, IReadOnlyList<TokenActivation> Tokens, bool Truncated);

/// <summary>Histogram of a feature's non-zero activations: Counts[i] in [Edges[i], Edges[i+1]).</summary>
public sealed record FeatureHistogram(IReadOnlyList<double> Edges, IReadOnlyList<long> Counts);

/// <summary>A token where the feature fired, with up to 5 tokens either side; Tokens[Index] fired.</summary>
public sealed record FeatureContext(int DocId, IReadOnlyList<string> Tokens, int Index, double Activation);

public sealed record FeatureSummary
{
    public int Id { get; init; }
    /// <summary>Short label from the tokens it fires on most.</summary>
    public string Label { get; init; } = "";
    /// <summary>Fraction of (non-special) tokens on which it is non-zero.</summary>
    public double FiringRate { get; init; }
    public double MeanWhenActive { get; init; }
    public double MaxActivation { get; init; }
    /// <summary>The probe's weight on this feature (0 when unused).</summary>
    public double ProbeWeight { get; init; }
    public FeatureHistogram Histogram { get; init; } = new(Array.Empty<double>(), Array.Empty<long>());
    /// <summary>Top-activating contexts, highest activation first (at most one per document).</summary>
    public IReadOnlyList<FeatureContext> TopContexts { get; init; } = Array.Empty<FeatureContext>();
}
