using System.Text.Json.Serialization;

namespace SaeGuard.Probes;

/// <summary>One fold's test-set metrics for one probe (threshold 0.5 for accuracy and F1).</summary>
public sealed record FoldMetrics
{
    public double Auroc { get; init; }
    public double Auprc { get; init; }
    public double Accuracy { get; init; }
    public double F1 { get; init; }
    [JsonPropertyName("tpr_at_1pct_fpr")] public double TprAt1PctFpr { get; init; }
    public int NFeaturesUsed { get; init; }
    public int NTest { get; init; }

    public static FoldMetrics Of(double[] scores, int[] labels, int featuresUsed) => new()
    {
        Auroc = BinaryMetrics.Auroc(scores, labels),
        Auprc = BinaryMetrics.Auprc(scores, labels),
        Accuracy = BinaryMetrics.Accuracy(scores, labels, 0.5),
        F1 = BinaryMetrics.F1(scores, labels, 0.5),
        TprAt1PctFpr = BinaryMetrics.TprAtFpr(scores, labels, 0.01),
        NFeaturesUsed = featuresUsed,
        NTest = scores.Length,
    };
}
