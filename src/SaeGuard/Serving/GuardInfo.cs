namespace SaeGuard.Serving;

/// <summary>What a served guard is (/v1/info), read from its probe.json.</summary>
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
    /// <summary>Probe metrics summary (auroc, …), as the probe reported them.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
