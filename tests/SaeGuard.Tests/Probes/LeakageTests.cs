using SaeGuard.Probes;

namespace SaeGuard.Tests.Probes;

/// <summary>Standardisation and feature selection must be fitted on the training folds only.</summary>
public class LeakageTests
{
    static (float[] X, int[] Y) Noise(int n, int width, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * width];
        for (int i = 0; i < x.Length; i++) x[i] = (float)SyntheticActs.Gauss(rng);
        var y = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        rng.Shuffle(y);
        return (x, y);
    }

    [Fact]
    public void Each_fold_fits_its_standardisation_and_selection_on_its_training_rows()
    {
        const int n = 80, d = 6, m = 40;
        var (dense, y) = Noise(n, d, 1);
        var (codes, _) = Noise(n, m, 2);
        var cv = CrossValidation.Run(dense, d, codes, m, y, 4, 0, new ProbeSettings { TopK = 5, MaxSaeFeatures = 8 });
        for (int f = 0; f < 4; f++)
        {
            var train = Enumerable.Range(0, n).Where(i => cv.Fold[i] != f).ToArray();
            var std = cv.Probes[f][ProbeKinds.Dense].Standardizer;
            for (int j = 0; j < d; j++)
            {
                double mean = train.Average(i => (double)dense[i * d + j]);
                double sd = Math.Sqrt(train.Average(i => Math.Pow(dense[i * d + j] - mean, 2)));
                Assert.Equal(mean, std.Mean[j], 5);
                Assert.Equal(1 / sd, std.Scale[j], 3);
            }
            var topk = cv.Probes[f][ProbeKinds.SaeTopK];
            var expected = ProbeFitting.TopByMeanDifference(codes, Standardizer.Fit(codes, m, train), train, y, 5).Order();
            Assert.Equal(expected, Enumerable.Range(0, m).Where(j => topk.W[j] != 0).Order());
            Assert.Equal(Standardizer.Fit(codes, m, train).Mean, cv.Probes[f][ProbeKinds.Sae].Standardizer.Mean);
        }
    }

    [Fact]
    public void A_signal_planted_in_a_test_fold_only_does_not_lift_auroc()
    {
        // Random labels; then in every fold's test rows only, 10 features per fold carry the label.
        const int n = 100, d = 8, m = 200;
        var (dense, y) = Noise(n, d, 3);
        var (codes, _) = Noise(n, m, 4);
        var settings = new ProbeSettings { TopK = 10, MaxSaeFeatures = 10 };
        var plain = CrossValidation.Run(dense, d, codes, m, y, 5, 0, settings);
        var planted = (float[])codes.Clone();
        for (int i = 0; i < n; i++)
        {
            int f = plain.Fold[i];
            for (int j = f * 10; j < f * 10 + 10; j++) planted[i * m + j] = y[i] == 1 ? 3f : -3f;
        }
        var cv = CrossValidation.Run(dense, d, planted, m, y, 5, 0, settings);
        Assert.Equal(plain.Fold, cv.Fold);
        foreach (var kind in new[] { ProbeKinds.Sae, ProbeKinds.SaeTopK })
        {
            double auc = BinaryMetrics.Auroc(cv.OutOfFold[kind], y);
            Assert.InRange(auc, 0.3, 0.7);
        }
        // Had the probe been fitted on all rows, the planted features would separate everything.
        var leaky = ProbeFitting.FitL2(planted, m, Enumerable.Range(0, n).ToArray(), y, 1.0);
        Assert.True(BinaryMetrics.Auroc(leaky.ScoreRows(planted, Enumerable.Range(0, n).ToArray()), y) > 0.99);
    }

    [Fact]
    public void Selection_on_all_rows_would_inflate_auroc_on_pure_noise_but_ours_does_not()
    {
        // 60 prompts, 2000 noise features, random labels: nothing to learn.
        const int n = 60, m = 2000, k = 10;
        var (codes, y) = Noise(n, m, 5);
        var (dense, _) = Noise(n, 4, 6);
        var cv = CrossValidation.Run(dense, 4, codes, m, y, 5, 0, new ProbeSettings { TopK = k, MaxSaeFeatures = k });
        double ours = BinaryMetrics.Auroc(cv.OutOfFold[ProbeKinds.SaeTopK], y);
        Assert.InRange(ours, 0.25, 0.75);

        // The leaky reference: choose the k features on all rows, then cross-validate only the weights.
        var all = Enumerable.Range(0, n).ToArray();
        var chosen = ProbeFitting.TopByMeanDifference(codes, Standardizer.Fit(codes, m, all), all, y, k);
        var leakyScores = new double[n];
        for (int f = 0; f < 5; f++)
        {
            var train = all.Where(i => cv.Fold[i] != f).ToArray();
            var test = all.Where(i => cv.Fold[i] == f).ToArray();
            var std = Standardizer.Fit(codes, m, train);
            var model = LogisticRegression.Fit(std.Transform(codes, train, chosen), train.Length, k, train.Select(i => y[i]).ToArray());
            var xt = std.Transform(codes, test, chosen);
            for (int i = 0; i < test.Length; i++) leakyScores[test[i]] = model.Logit(xt.AsSpan(i * k, k));
        }
        double leaky = BinaryMetrics.Auroc(leakyScores, y);
        Assert.True(leaky > 0.8, $"the leaky reference reached only {leaky}; the test would not detect leakage");
        Assert.True(leaky - ours > 0.2);
    }

    [Fact]
    public void Sparse_and_dense_designs_compute_the_same_products()
    {
        var rng = new Random(3);
        const int n = 30, width = 50;
        var x = new float[n * width];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() < 0.15 ? (float)rng.NextDouble() * 3 : 0f;
        var rows = Enumerable.Range(0, n).Where(i => i % 4 != 1).ToArray();
        var std = Standardizer.Fit(x, width, rows);
        var feats = std.Varying();
        var sparse = new SparseStandardizedDesign(x, width, rows, feats, std);
        var dense = new DenseDesign(std.Transform(x, rows, feats), rows.Length, feats.Length);
        Assert.True(sparse.Density < 0.3);
        Assert.IsType<SparseStandardizedDesign>(std.Design(x, rows, feats));
        var w = feats.Select(_ => rng.NextDouble() - 0.5).ToArray();
        var r = rows.Select(_ => rng.NextDouble() - 0.5).ToArray();
        var z1 = new double[rows.Length]; var z2 = new double[rows.Length];
        sparse.Multiply(w, 0.3, z1); dense.Multiply(w, 0.3, z2);
        for (int i = 0; i < z1.Length; i++) Assert.Equal(z2[i], z1[i], 9);
        var g1 = new double[feats.Length]; var g2 = new double[feats.Length];
        sparse.TransposeMultiply(r, g1); dense.TransposeMultiply(r, g2);
        for (int j = 0; j < g1.Length; j++) Assert.Equal(g2[j], g1[j], 9);
    }
}
