using SaeGuard.Models;

namespace SaeGuard.Probes;

public sealed record ProbeOptions
{
    public IReadOnlyList<string> Acts { get; init; } = Array.Empty<string>();
    public string Sae { get; init; } = "";
    public string Out { get; init; } = "";
    public Pooling Pooling { get; init; } = Pooling.Mean;
    public int Folds { get; init; } = 5;
    public int Seed { get; init; }
    /// <summary>A <see cref="LabelRules"/> spec.</summary>
    public string? Labels { get; init; }
    public bool MatchLength { get; init; }
    public int MaxPerClass { get; init; }
    public ProbeSettings Settings { get; init; } = new();
    public IReadOnlyList<HeldOutSpec> Tests { get; init; } = Array.Empty<HeldOutSpec>();
    /// <summary>The model path to record (and to run held-out text files through) when the acts name a non-built-in model.</summary>
    public string? Model { get; init; }
    public string Decision { get; init; } = ProbeKinds.Hybrid;
    /// <summary>The stored threshold is the one giving this TPR on out-of-fold training scores.</summary>
    public double TargetTpr { get; init; } = 0.95;
    public int TopTokens { get; init; } = 8;
    /// <summary>Opens the model for held-out text files (the CLI adds GGUF).</summary>
    public ModelSources Models { get; init; } = ModelSources.BuiltIn;
}
