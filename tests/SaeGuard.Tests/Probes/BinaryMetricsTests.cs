using System.Text.Json;
using SaeGuard.Probes;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Probes;

public class BinaryMetricsTests
{
    // Positives 0.9, 0.8, 0.3; negatives 0.8, 0.3, 0.1: ties at 0.8 and 0.3.
    static readonly double[] S = { 0.9, 0.8, 0.8, 0.3, 0.3, 0.1 };
    static readonly int[] L = { 1, 1, 0, 1, 0, 0 };

    [Fact]
    public void Auroc_counts_ties_as_half()
    {
        // pairs won: 0.9 → 3; 0.8 → ½ + 2; 0.3 → ½ + 1 → 7 of 9.
        Assert.Equal(7.0 / 9, BinaryMetrics.Auroc(S, L), 12);
        // Reversing the order of tied items changes nothing.
        Assert.Equal(7.0 / 9, BinaryMetrics.Auroc(new[] { 0.9, 0.8, 0.8, 0.3, 0.3, 0.1 }, new[] { 1, 0, 1, 0, 1, 0 }), 12);
    }

    [Fact]
    public void Auprc_steps_over_tied_groups()
    {
        // thresholds 0.9: R ⅓ P 1; 0.8: R ⅔ P ⅔; 0.3: R 1 P ⅗; 0.1: R 1 → ⅓ + 2/9 + 1/5 = 34/45.
        Assert.Equal(34.0 / 45, BinaryMetrics.Auprc(S, L), 12);
    }

    [Fact]
    public void Tpr_at_fpr_uses_achievable_points_only()
    {
        Assert.Equal(1.0 / 3, BinaryMetrics.TprAtFpr(S, L, 0.01), 12);
        Assert.Equal(2.0 / 3, BinaryMetrics.TprAtFpr(S, L, 1.0 / 3), 12);
        var roc = BinaryMetrics.RocCurve(S, L);
        var expected = new[] { (0.0, 0.0), (0.0, 1.0 / 3), (1.0 / 3, 2.0 / 3), (2.0 / 3, 1.0), (1.0, 1.0) };
        Assert.Equal(expected.Length, roc.Count);
        for (int i = 0; i < roc.Count; i++)
        {
            Assert.Equal(expected[i].Item1, roc[i].Fpr, 12);
            Assert.Equal(expected[i].Item2, roc[i].Tpr, 12);
        }
    }

    [Fact]
    public void Tpr_at_1pct_fpr_with_a_tie_on_the_boundary()
    {
        // 200 negatives at i/200; positives 2.0, 1.5, 0.995 (tied with the top negative), 0.99 (tied
        // with the second), 0.9, 0.1. 1% FPR allows 2 false positives: the group at 0.99 is the last
        // admissible point, with 4 of 6 positives.
        var neg = Enumerable.Range(0, 200).Select(i => i / 200.0);
        var pos = new[] { 2.0, 1.5, 199 / 200.0, 198 / 200.0, 0.9, 0.1 };
        var s = pos.Concat(neg).ToArray();
        var l = pos.Select(_ => 1).Concat(neg.Select(_ => 0)).ToArray();
        Assert.Equal(4.0 / 6, BinaryMetrics.TprAtFpr(s, l, 0.01), 12);
        Assert.Equal(2.0 / 6, BinaryMetrics.TprAtFpr(s, l, 0.0), 12);
    }

    [Fact]
    public void Degenerate_scorers()
    {
        var flat = new double[] { 0.5, 0.5, 0.5, 0.5 };
        var lab = new[] { 1, 0, 0, 0 };
        Assert.Equal(0.5, BinaryMetrics.Auroc(flat, lab), 12);
        Assert.Equal(0.25, BinaryMetrics.Auprc(flat, lab), 12);
        Assert.Equal(0.0, BinaryMetrics.TprAtFpr(flat, lab, 0.01), 12);
        var perfect = new double[] { 0.9, 0.2, 0.1, 0.0 };
        Assert.Equal(1.0, BinaryMetrics.Auroc(perfect, lab), 12);
        Assert.Equal(1.0, BinaryMetrics.Auprc(perfect, lab), 12);
        Assert.Equal(1.0, BinaryMetrics.TprAtFpr(perfect, lab, 0.01), 12);
        Assert.True(double.IsNaN(BinaryMetrics.Auroc(perfect, new[] { 1, 1, 1, 1 })));
    }

    [Fact]
    public void Threshold_accuracy_and_f1()
    {
        Assert.Equal(0.3, BinaryMetrics.ThresholdForTpr(S, L, 0.95));
        Assert.Equal(0.8, BinaryMetrics.ThresholdForTpr(S, L, 0.5));
        Assert.Equal(0.9, BinaryMetrics.ThresholdForTpr(S, L, 1.0 / 3));
        // At 0.5: predictions 1 1 1 0 0 0 → 4 of 6 right; TP 2, FP 1, FN 1 → F1 ⅔.
        Assert.Equal(4.0 / 6, BinaryMetrics.Accuracy(S, L, 0.5), 12);
        Assert.Equal(2.0 / 3, BinaryMetrics.F1(S, L, 0.5), 12);
        Assert.Equal(0.5, BinaryMetrics.FlagRate(S, 0.5), 12);
    }

    [Fact]
    public void Matches_scikit_learn_on_heavily_tied_scores()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ProbeFixtures.SklearnJson));
        var m = doc.RootElement.GetProperty("metrics");
        var s = m.GetProperty("scores").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var l = m.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(m.GetProperty("auroc").GetDouble(), BinaryMetrics.Auroc(s, l), 10);
        Assert.Equal(m.GetProperty("auprc").GetDouble(), BinaryMetrics.Auprc(s, l), 10);
    }
}

static class ProbeFixtures
{
    public static string SklearnJson => Path.Combine(TestPaths.RepoRoot, "tests", "SaeGuard.Tests", "Probes", "Fixtures", "probe_sklearn.json");
}
