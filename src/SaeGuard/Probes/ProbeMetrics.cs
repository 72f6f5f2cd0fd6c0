using System.Text.Json.Serialization;

namespace SaeGuard.Probes;

/// <summary>Flag rate of one category: recall for harmful categories, false-positive rate for benign ones.</summary>
public sealed record CategoryRate
{
    public int N { get; init; }
    /// <summary>At score ≥ 0.5.</summary>
    public double Rate { get; init; }
    /// <summary>At the probe's stored threshold.</summary>
    public double RateAtThreshold { get; init; }
}

/// <summary>One probe's cross-validated results in metrics.json (means and sample std over folds).</summary>
public sealed record ProbeSummary
{
    public string Description { get; init; } = "";
    public double Auroc { get; init; }
    public double AurocStd { get; init; }
    public double Auprc { get; init; }
    public double AuprcStd { get; init; }
    public double Accuracy { get; init; }
    public double AccuracyStd { get; init; }
    public double F1 { get; init; }
    public double F1Std { get; init; }
    [JsonPropertyName("tpr_at_1pct_fpr")] public double TprAt1PctFpr { get; init; }
    [JsonPropertyName("tpr_at_1pct_fpr_std")] public double TprAt1PctFprStd { get; init; }
    /// <summary>Features the final model (fitted on all prompts) uses.</summary>
    public int NFeaturesUsed { get; init; }
    public double NFeaturesUsedFoldMean { get; init; }
    /// <summary>AUROC of all out-of-fold scores pooled together.</summary>
    public double OofAuroc { get; init; }
    public double Threshold { get; init; }
    public double ThresholdOofTpr { get; init; }
    public double ThresholdOofFpr { get; init; }
    public double? C { get; init; }
    public Dictionary<string, CategoryRate>? PerCategoryRecall { get; init; }
    public Dictionary<string, CategoryRate>? PerCategoryFalsePositiveRate { get; init; }
    /// <summary>Hybrid only: mean share of |attribution| in the top 5 features.</summary>
    [JsonPropertyName("top5_attribution_share")] public double? Top5AttributionShare { get; init; }
    /// <summary>Hybrid only: mean share of |attribution| the SAE leaves unexplained (its reconstruction error).</summary>
    public double? SaeResidualShare { get; init; }
    public List<FoldMetrics> PerFold { get; init; } = new();
}

/// <summary>A probe's results on a held-out set (scored by the final models).</summary>
public sealed record HeldOutProbeResult
{
    public double? Auroc { get; init; }
    public double? Auprc { get; init; }
    [JsonPropertyName("tpr_at_1pct_fpr")] public double? TprAt1PctFpr { get; init; }
    public double? Accuracy { get; init; }
    public double? F1 { get; init; }
    /// <summary>Harmful prompts flagged at the stored threshold.</summary>
    public double? RecallAtThreshold { get; init; }
    public double? FprAtThreshold { get; init; }
    /// <summary>At score ≥ 0.5.</summary>
    public double? Recall { get; init; }
    public double? Fpr { get; init; }
    /// <summary>All prompts (labelled or not) flagged at the stored threshold.</summary>
    public double FlagRateAtThreshold { get; init; }
    public double MeanScore { get; init; }
    public Dictionary<string, CategoryRate>? PerCategoryRecall { get; init; }
}

public sealed record HeldOutResult
{
    public string Name { get; init; } = "";
    public string Path { get; init; } = "";
    public int N { get; init; }
    public int NHarmful { get; init; }
    public int NBenign { get; init; }
    public int NUnlabelled { get; init; }
    public Dictionary<string, HeldOutProbeResult> Probes { get; init; } = new();
}

/// <summary>metrics.json of a probe folder (SPEC.md "probe").</summary>
public sealed record ProbeMetricsFile
{
    public int NPerClass { get; init; }
    public int Folds { get; init; }
    public string Pooling { get; init; } = "mean";
    public int Seed { get; init; }
    public string Model { get; init; } = "";
    public int Layer { get; init; }
    public int D { get; init; }
    public string SaePath { get; init; } = "";
    public int DSae { get; init; }
    public string Decision { get; init; } = ProbeKinds.Hybrid;
    /// <summary>Each probe's threshold gives this TPR on its out-of-fold training scores.</summary>
    public double ThresholdTargetTpr { get; init; } = 0.95;
    public SelectionReport Selection { get; init; } = new();
    public ProbeSettings Settings { get; init; } = new();
    public ProbeSummary Sae { get; init; } = new();
    public ProbeSummary SaeTopk { get; init; } = new();
    public ProbeSummary Dense { get; init; } = new();
    public ProbeSummary Hybrid { get; init; } = new();
    public List<HeldOutResult> Test { get; init; } = new();
    public double Seconds { get; init; }

    public ProbeSummary Get(string kind) => kind switch
    {
        ProbeKinds.Sae => Sae,
        ProbeKinds.SaeTopK => SaeTopk,
        ProbeKinds.Dense => Dense,
        ProbeKinds.Hybrid => Hybrid,
        _ => throw new ArgumentException(kind),
    };
}
