using SaeGuard.Analysis;

namespace SaeGuard.Tests.Analysis;

public class FeatureAnalyzerTests
{
    /// <summary>
    /// Width 203 (not a multiple of the vector size), planted: 5 dead features, 4 always-on
    /// features, 3 features with negative values, sparse exponential features with random rates,
    /// repeated values, exact zeros.
    /// </summary>
    static (float[] X, int Rows, int Width) Planted(int seed = 7)
    {
        const int rows = 1537, w = 203;
        var rng = new Random(seed);
        var x = new float[rows * w];
        var rate = Enumerable.Range(0, w).Select(_ => Math.Pow(10, -3 * rng.NextDouble())).ToArray();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < w; j++)
            {
                float v;
                if (j < 5) v = 0;                                                       // dead
                else if (j < 9) v = (float)(1 + rng.NextDouble());                      // always on
                else if (j < 12) v = (float)(rng.NextDouble() - 0.7);                   // negative mass
                else if (j < 14) v = rng.NextDouble() < 0.5 ? 0.25f : 0;                // repeated value
                else v = rng.NextDouble() < rate[j] ? (float)(-Math.Log(1 - rng.NextDouble()) * 0.3) : 0;
                x[r * w + j] = v;
            }
        return (x, rows, w);
    }

    /// <summary>numpy.percentile(…, method="linear") in float64.</summary>
    internal static double NumpyPercentile(double[] sorted, double q)
    {
        double pos = q / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        if (lo + 1 >= sorted.Length) return sorted[lo];
        return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
    }

    static void Close(double expected, double actual, double rel = 1e-9, string what = "")
    {
        double tol = rel * Math.Max(1, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected:R}, got {actual:R}");
    }

    [Fact]
    public void EveryStatisticMatchesAFloat64Reference()
    {
        var (x, rows, w) = Planted();
        var s = Synthetic.Analyze(x, rows, w, new AnalysisOptions { SampleTokens = rows, Threads = 2 }, blockRows: 97);

        var all = x.Select(v => (double)v).ToArray();
        var sorted = all.OrderBy(v => v).ToArray();
        Assert.Equal(rows, s.Tokens);
        Close(sorted[0], s.Values.Min, what: "min");
        Close(sorted[^1], s.Values.Max, what: "max");
        Close(all.Average(), s.Values.Mean, 1e-9, "mean");
        Close(NumpyPercentile(sorted, 50), s.Values.Median, what: "median");
        foreach (var (q, got) in new[] { (1.0, s.Values.P1), (5.0, s.Values.P5), (50.0, s.Values.P50), (95.0, s.Values.P95), (99.0, s.Values.P99) })
            Close(NumpyPercentile(sorted, q), got, 1e-12, $"p{q}");
        Assert.Equal(all.Count(v => v < 0) / (double)all.Length, s.Values.NegativeFraction, 12);
        Assert.Equal(all.Count(v => v == 0) / (double)all.Length, s.Values.ZeroFraction, 12);
        Assert.Equal(2, s.Passes);

        for (int j = 0; j < w; j++)
        {
            var col = Enumerable.Range(0, rows).Select(r => (double)x[r * w + j]).ToArray();
            int active = col.Count(v => v > 0);
            Assert.Equal(active, s.ActiveCount[j]);
            Close(active / (double)rows, s.FiringRate[j], 1e-15, $"fr[{j}]");
            Close(col.Max(), s.Max[j], 0, $"max[{j}]");
            Close(col.Min(), s.Min[j], 0, $"min[{j}]");
            Close(col.Average(), s.Mean[j], 1e-6, $"mean[{j}]");
            Close(active > 0 ? col.Where(v => v > 0).Average() : 0, s.MeanActive[j], 1e-6, $"mean_active[{j}]");
            double m = col.Average();
            Close(Math.Sqrt(col.Select(v => (v - m) * (v - m)).Average()), s.Std[j], 1e-5, $"std[{j}]");
        }
        Assert.Equal(Enumerable.Range(0, w).Count(j => Enumerable.Range(0, rows).All(r => !(x[r * w + j] > 0))), s.Dead);
        Assert.True(s.Dead >= 5);
        Assert.Equal(Enumerable.Range(0, w).Count(j => s.FiringRate[j] > 0.99), s.AlwaysOn99);
        Assert.True(s.AlwaysOn99 >= 4);
        Assert.Equal(Enumerable.Range(0, w).Count(j => s.FiringRate[j] > 0.5), s.AlwaysOn50);

        var l0 = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, w).Count(j => x[r * w + j] > 0)).ToArray();
        var l0Sorted = l0.Select(v => (double)v).OrderBy(v => v).ToArray();
        Close(l0.Average(), s.L0.Mean, 1e-12, "l0 mean");
        Close(NumpyPercentile(l0Sorted, 50), s.L0.Median, 1e-12, "l0 median");
        Close(NumpyPercentile(l0Sorted, 95), s.L0.P95, 1e-12, "l0 p95");
        Close(NumpyPercentile(l0Sorted, 99), s.L0.P99, 1e-12, "l0 p99");
        Assert.Equal(l0.Min(), s.L0.Min);
        Assert.Equal(l0.Max(), s.L0.Max);
        // the sample holds every token here, each with its own L0
        Assert.Equal(rows, s.Sample.Rows.Count);
        foreach (var row in s.Sample.Rows) Assert.Equal(l0[row.RowId], row.L0);

        for (int e = 0; e < FeatureStats.EpsLevels.Length; e++)
        {
            float eps = (float)FeatureStats.EpsLevels[e];
            long above = x.LongCount(v => v > eps);
            Assert.Equal(FeatureStats.EpsLevels[e], s.EpsTable[e].Eps);
            Close(above / (double)x.Length, s.EpsTable[e].FracAbove, 1e-15, $"frac>{eps}");
            Close(above / (double)rows, s.EpsTable[e].ActivePerToken, 1e-15, $"active>{eps}");
        }
        double m2 = 0, e2 = 0;
        for (int j = 0; j < w; j++)
        {
            var col = Enumerable.Range(0, rows).Select(r => (double)x[r * w + j]).ToArray();
            m2 += col.Average() * col.Average(); e2 += col.Select(v => v * v).Average();
        }
        Close(m2 / e2, s.OffsetEnergyShare, 1e-5, "offset energy share");
    }

    [Fact]
    public void OnePassPercentilesStayWithinTheDocumentedHistogramError()
    {
        var (x, rows, w) = Planted(11);
        var s = Synthetic.Analyze(x, rows, w, new AnalysisOptions { SampleTokens = 0, ExactQuantiles = false });
        Assert.Equal(1, s.Passes);
        Assert.Equal(RadixQuantiles.HistogramMethod, s.Values.QuantileMethod);
        var sorted = x.Select(v => (double)v).OrderBy(v => v).ToArray();
        foreach (var (q, got) in new[] { (1.0, s.Values.P1), (5.0, s.Values.P5), (50.0, s.Values.P50), (95.0, s.Values.P95), (99.0, s.Values.P99) })
        {
            double want = NumpyPercentile(sorted, q);
            Assert.True(Math.Abs(got - want) <= Math.Abs(want) / 128 + 1e-30, $"p{q}: {got} vs {want}");
        }
    }

    [Fact]
    public void BlockSizeAndThreadCountDoNotChangeTheResults()
    {
        var (x, rows, w) = Planted(3);
        var a = Synthetic.Analyze(x, rows, w, new AnalysisOptions { SampleTokens = 200, Threads = 1, Seed = 5 }, blockRows: 1);
        var b = Synthetic.Analyze(x, rows, w, new AnalysisOptions { SampleTokens = 200, Threads = 2, Seed = 5 }, blockRows: 500);
        Assert.Equal(a.ActiveCount, b.ActiveCount);
        Assert.Equal(a.Max, b.Max);
        Assert.Equal(a.L0Histogram, b.L0Histogram);
        Assert.Equal(a.EpsTable, b.EpsTable);
        Assert.Equal(a.Values with { Mean = 0 }, b.Values with { Mean = 0 });
        Assert.Equal(a.Values.Mean, b.Values.Mean, 9);
        for (int j = 0; j < w; j++) Assert.Equal(a.Mean[j], b.Mean[j], 6);
        Assert.Equal(a.Sample.Rows.Select(r => r.RowId), b.Sample.Rows.Select(r => r.RowId));
    }

    [Fact]
    public void TheTokenSampleIsUniformAndReproducibleFromTheSeed()
    {
        const int rows = 20000, w = 16, n = 2000;
        var x = new float[rows * w];
        for (int r = 0; r < rows; r++) x[r * w + r % w] = 1 + r % 3;
        FeatureStats Run(int seed) => Synthetic.Analyze(x, rows, w, new AnalysisOptions { SampleTokens = n, Seed = seed }, blockRows: 333);
        var a = Run(1); var again = Run(1); var other = Run(2);
        var ids = a.Sample.Rows.Select(r => r.RowId).OrderBy(v => v).ToArray();
        Assert.Equal(n, ids.Length);
        Assert.Equal(n, ids.Distinct().Count());
        Assert.Equal(ids, again.Sample.Rows.Select(r => r.RowId).OrderBy(v => v));
        Assert.NotEqual(ids, other.Sample.Rows.Select(r => r.RowId).OrderBy(v => v));
        // each tenth of the stream gets about a tenth of the sample (binomial sd ≈ 13)
        for (int d = 0; d < 10; d++)
        {
            int inDecile = ids.Count(id => id >= d * rows / 10 && id < (d + 1) * rows / 10);
            Assert.InRange(inDecile, 200 - 60, 200 + 60);
        }
        // sampled rows carry their codes (sparse here: one non-zero each)
        foreach (var r in a.Sample.Rows.Where(r => r.HasData))
        {
            Assert.Equal(new[] { (int)(r.RowId % w) }, r.Index);
            Assert.Equal(new[] { (float)(1 + r.RowId % 3) }, r.Values);
        }
    }

    [Fact]
    public void TheMemoryCapLimitsTheRowsKeptForThePca()
    {
        // dense rows of 200 floats ≈ 1.2 kB each with the safety margin: a 60 kB cap keeps about 50
        const int rows = 3000, w = 200;
        var x = new float[rows * w];
        for (int i = 0; i < x.Length; i++) x[i] = 1 + i % 5;
        var s = Synthetic.Analyze(x, rows, w, new AnalysisOptions { SampleTokens = 1000, PcaMemoryBytes = 60_000 });
        Assert.Equal(1000, s.Sample.Rows.Count);
        Assert.InRange(s.Sample.RowsWithData, 30, 75);
        Assert.True(s.Sample.Rows.Where(r => r.HasData).Sum(r => r.Bytes) <= 60_000);
        // the kept rows are still spread over the whole stream
        Assert.True(s.Sample.Rows.Where(r => r.HasData).Max(r => r.RowId) > rows / 2);
        Assert.True(s.Sample.Rows.Where(r => r.HasData).Min(r => r.RowId) < rows / 2);
    }

    [Fact]
    public void NaNAndInfinityAreCountedNotHidden()
    {
        var x = new float[64 * 9];
        for (int i = 0; i < x.Length; i++) x[i] = i % 4 == 0 ? 0.5f : 0;
        x[10] = float.NaN; x[20] = float.PositiveInfinity; x[30] = float.NegativeInfinity;
        var s = Synthetic.Analyze(x, 64, 9);
        Assert.Equal(3, s.Values.NonFinite);
        var d = Diagnoser.Diagnose(s);
        Assert.Equal("suspicious", d.Verdict);
    }

    [Fact]
    public void TheRadixKeyOrdersFloatsLikeTheirValues()
    {
        var rng = new Random(4);
        var values = Enumerable.Range(0, 5000).Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-40, 38))))
            .Concat(new[] { 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1f, -1f }).ToArray();
        var byKey = values.OrderBy(RadixQuantiles.Key).ToArray();
        for (int i = 1; i < byKey.Length; i++) Assert.True(byKey[i - 1] <= byKey[i], $"{byKey[i - 1]} > {byKey[i]}");
        foreach (var v in values) Assert.Equal(BitConverter.SingleToUInt32Bits(v), BitConverter.SingleToUInt32Bits(RadixQuantiles.FromKey(RadixQuantiles.Key(v))));
    }

    [Fact]
    public void AnEmptyStreamIsAUserError()
    {
        var a = new FeatureAnalyzer(8);
        a.EndFirstPass();
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => a.Finish());
        Assert.Contains("no tokens", e.Message);
    }
}
