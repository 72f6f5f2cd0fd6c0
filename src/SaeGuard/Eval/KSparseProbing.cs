using SaeGuard.Probes;

namespace SaeGuard.Eval;

/// <summary>
/// SAEBench's k-sparse probing on mean-pooled features: on the training documents rank the
/// latents by |mean(harmful) − mean(benign)|, keep the top k, fit an L2 logistic probe
/// (<see cref="LogisticRegression"/>, scikit-learn's objective with C) on those k, and report the
/// test AUROC. The dense baseline is the same probe on all features.
/// </summary>
public static class KSparseProbing
{
    /// <summary>Latents ordered by |class-mean difference| on the rows where <paramref name="train"/> is true (ties: lower index first).</summary>
    public static int[] RankByMeanDifference(IReadOnlyList<float[]> x, IReadOnlyList<int> y, IReadOnlyList<bool> train)
    {
        int m = x[0].Length;
        var sum1 = new double[m]; var sum0 = new double[m];
        int n1 = 0, n0 = 0;
        for (int i = 0; i < x.Count; i++)
        {
            if (!train[i]) continue;
            var s = y[i] == 1 ? sum1 : sum0;
            if (y[i] == 1) n1++; else n0++;
            for (int j = 0; j < m; j++) s[j] += x[i][j];
        }
        var diff = new double[m];
        for (int j = 0; j < m; j++) diff[j] = Math.Abs(sum1[j] / Math.Max(1, n1) - sum0[j] / Math.Max(1, n0));
        return Enumerable.Range(0, m).OrderByDescending(j => diff[j]).ThenBy(j => j).ToArray();
    }

    /// <summary>Test AUROC of a logistic probe on the <paramref name="features"/> columns of x, trained on the train rows.</summary>
    public static (double Auroc, LogisticModel Model) ProbeAuroc(IReadOnlyList<float[]> x, IReadOnlyList<int> y, IReadOnlyList<bool> train, int[] features, double c)
    {
        var model = Fit(x, y, train, features, c);
        return (TestAuroc(model, x, y, train, features), model);
    }

    public static LogisticModel Fit(IReadOnlyList<float[]> x, IReadOnlyList<int> y, IReadOnlyList<bool> train, int[] features, double c)
    {
        int f = features.Length;
        var rows = Enumerable.Range(0, x.Count).Where(i => train[i]).ToArray();
        var design = new double[rows.Length * f];
        for (int r = 0; r < rows.Length; r++)
            for (int j = 0; j < f; j++) design[r * f + j] = x[rows[r]][features[j]];
        var labels = rows.Select(i => y[i]).ToArray();
        return LogisticRegression.Fit(design, rows.Length, f, labels, new LogisticOptions { C = c, Tolerance = 1e-9, MaxIterations = 5000 });
    }

    /// <summary>AUROC on the rows where <paramref name="train"/> is false.</summary>
    public static double TestAuroc(LogisticModel model, IReadOnlyList<float[]> x, IReadOnlyList<int> y, IReadOnlyList<bool> train, int[] features)
    {
        var scores = new List<double>(); var labels = new List<int>();
        var row = new double[features.Length];
        for (int i = 0; i < x.Count; i++)
        {
            if (train[i]) continue;
            for (int j = 0; j < features.Length; j++) row[j] = x[i][features[j]];
            scores.Add(model.Logit(row));
            labels.Add(y[i]);
        }
        return BinaryMetrics.Auroc(scores.ToArray(), labels.ToArray());
    }

    /// <summary>Per k: the test AUROC of the probe on the top-k latents.</summary>
    public static (double[] Aurocs, int[] Ranking) Run(IReadOnlyList<float[]> codes, IReadOnlyList<int> y, IReadOnlyList<bool> train, IReadOnlyList<int> ks, double c)
    {
        var ranking = RankByMeanDifference(codes, y, train);
        var aurocs = ks.Select(k => ProbeAuroc(codes, y, train, ranking[..Math.Min(k, ranking.Length)], c).Auroc).ToArray();
        return (aurocs, ranking);
    }

    /// <summary>A stratified split: per label, a seeded shuffle puts round(fraction × count) documents (at least one) in the test set.</summary>
    public static bool[] TrainMask(IReadOnlyList<int> y, double testFraction, int seed)
    {
        var train = Enumerable.Repeat(true, y.Count).ToArray();
        var rng = new Random(seed);
        foreach (var label in new[] { 0, 1 })
        {
            var idx = Enumerable.Range(0, y.Count).Where(i => y[i] == label).ToArray();
            rng.Shuffle(idx);
            int nTest = Math.Min(idx.Length - 1, Math.Max(1, (int)Math.Round(testFraction * idx.Length)));
            for (int i = 0; i < nTest; i++) train[idx[i]] = false;
        }
        return train;
    }
}
