namespace SaeGuard.Probes;

/// <summary>One probe's entry in probe.json.</summary>
public sealed record ProbeEntry
{
    public string Description { get; init; } = "";
    /// <summary>Score (probability) at or above which a prompt is labelled harmful.</summary>
    public double Threshold { get; init; }
    /// <summary>The rule that set it: the threshold giving this TPR on out-of-fold training scores.</summary>
    public double ThresholdTargetTpr { get; init; }
    public double ThresholdOofTpr { get; init; }
    public double ThresholdOofFpr { get; init; }
    public int NFeaturesUsed { get; init; }
    public double? C { get; init; }
    public double CvAuroc { get; init; }
}
