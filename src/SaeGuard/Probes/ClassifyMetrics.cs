using SaeGuard.Data;

namespace SaeGuard.Probes;

/// <summary>Metrics of <c>classify</c> on the rows that carried a label (null where a class is absent).</summary>
public sealed record ClassifyMetrics(int N, double? Auroc, double Accuracy, double? Recall, double? Fpr)
{
    /// <summary>Null when no row is labelled.</summary>
    public static ClassifyMetrics? Of(IReadOnlyList<GuardResult> results, IReadOnlyList<string?> labels)
    {
        var labelled = Enumerable.Range(0, results.Count).Where(i => labels[i] != null).ToArray();
        if (labelled.Length == 0) return null;
        var s = labelled.Select(i => results[i].Score).ToArray();
        var l = labelled.Select(i => Labels.ToInt(labels[i])).ToArray();
        double t = results[0].Threshold;
        bool both = l.Contains(1) && l.Contains(0);
        return new ClassifyMetrics(l.Length,
            both ? BinaryMetrics.Auroc(s, l) : null,
            BinaryMetrics.Accuracy(s, l, t),
            l.Contains(1) ? BinaryMetrics.FlagRate(s.Where((_, k) => l[k] == 1).ToArray(), t) : null,
            l.Contains(0) ? BinaryMetrics.FlagRate(s.Where((_, k) => l[k] == 0).ToArray(), t) : null);
    }
}
