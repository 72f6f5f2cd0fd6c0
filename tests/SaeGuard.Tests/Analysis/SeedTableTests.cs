using System.Numerics.Tensors;
using SaeGuard.Activations;
using SaeGuard.Analysis;

namespace SaeGuard.Tests.Analysis;

/// <summary>
/// The old system's table on the same kind of data: a 13,676 × 20,480 dense code matrix drawn like
/// the seed's (X = g_j · relu(z + 0.2), z ~ N(0,1), g_j ~ Gamma(1, 2), ≈58% positive), generated on
/// the fly and streamed, never held in memory.
/// </summary>
public class SeedTableTests
{
    const int Rows = 13676, Width = 20480;

    // The seed-shaped table (numpy_feature_stats.py on its own seed-0 draw of the same generator)
    static readonly double[] SeedEpsFrac = { 0.579272, 0.579065, 0.577663, 0.567568, 0.506764 };
    const double SeedL0Mean = 11863.49, SeedL0P95 = 11980, SeedL0P99 = 12027;

    [Fact]
    public void TheEpsTableAndL0StatsReadLikeTheSeeds()
    {
        var rng = new Random(2024);
        var g = Enumerable.Range(0, Width).Select(_ => (float)(-2 * Math.Log(1 - rng.NextDouble()))).ToArray();
        var a = new FeatureAnalyzer(Width, new AnalysisOptions { SampleTokens = 1000, ExactQuantiles = false });
        foreach (var b in Generate(g, seed: 99)) a.Add(b);
        a.EndFirstPass();
        var s = a.Finish();

        Assert.Equal(Rows, s.Tokens);
        // against the generator's own expectation, computed from the drawn scales g_j in float64
        for (int e = 0; e < FeatureStats.EpsLevels.Length; e++)
        {
            double eps = FeatureStats.EpsLevels[e];
            double expected = g.Average(gj => Phi(0.2 - eps / gj));
            Assert.InRange(s.EpsTable[e].FracAbove, expected - 0.001, expected + 0.001);
            Assert.InRange(s.EpsTable[e].FracAbove, SeedEpsFrac[e] - 0.002, SeedEpsFrac[e] + 0.002);
            Assert.Equal(s.EpsTable[e].FracAbove * Width, s.EpsTable[e].ActivePerToken, 6);
        }
        // per-token L0 ~ Binomial(20480, Φ(0.2)): mean 11,864, sd 70.6
        double p = Phi(0.2), sd = Math.Sqrt(Width * p * (1 - p));
        Assert.InRange(s.L0.Mean, Width * p - 3, Width * p + 3);
        Assert.InRange(s.L0.Mean, SeedL0Mean - 5, SeedL0Mean + 5);
        Assert.InRange(s.L0.Median, Width * p - 5, Width * p + 5);
        Assert.InRange(s.L0.P95, Width * p + 1.645 * sd - 8, Width * p + 1.645 * sd + 8);
        Assert.InRange(s.L0.P99, Width * p + 2.326 * sd - 8, Width * p + 2.326 * sd + 8);
        Assert.InRange(s.L0.P95, SeedL0P95 - 10, SeedL0P95 + 10);
        Assert.InRange(s.L0.P99, SeedL0P99 - 12, SeedL0P99 + 12);
        Assert.Equal(0, s.Dead);
        Assert.Equal(0, s.AlwaysOn99);
        Assert.Equal(Width, s.AlwaysOn50);
        Assert.InRange(s.Values.ZeroFraction, 1 - p - 0.001, 1 - p + 0.001);

        var d = Diagnoser.Diagnose(s);
        Assert.Equal("dense", d.Verdict);
        Assert.Equal(new[] { "H1" }, d.Supported.Select(h => h.Id));
    }

    static IEnumerable<RowBlock> Generate(float[] g, int seed)
    {
        const int blockRows = 512;
        for (int r0 = 0; r0 < Rows; r0 += blockRows)
        {
            int n = Math.Min(blockRows, Rows - r0);
            var data = new float[n * Width];
            int first = r0;
            Parallel.For(0, n, i => Row(g, seed, first + i, data.AsSpan(i * Width, Width)));
            yield return new RowBlock
            {
                Data = data, Rows = n, D = Width, RowIds = Enumerable.Range(r0, n).Select(v => (long)v).ToArray(),
                DocIds = new int[n], Positions = new int[n], TokenIds = new int[n], IsSpecial = new bool[n],
            };
        }
    }

    /// <summary>One row: Box–Muller normals from a per-row xorshift stream, vectorised with TensorPrimitives.</summary>
    static void Row(float[] g, int seed, int row, Span<float> x)
    {
        int half = Width / 2;
        var u1 = new float[half]; var u2 = new float[half];
        ulong s = (ulong)(seed * 1_000_003L + row) * 0x9E3779B97F4A7C15UL | 1;
        for (int i = 0; i < half; i++)
        {
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27; ulong a = s * 0x2545F4914F6CDD1DUL;
            u1[i] = ((a >> 40) + 0.5f) / 16777216f;
            u2[i] = ((a & 0xFFFFFF) + 0.5f) / 16777216f;
        }
        var r = new float[half];
        TensorPrimitives.Log(u1, r);
        TensorPrimitives.Multiply(r, -2f, r);
        TensorPrimitives.Sqrt(r, r);
        TensorPrimitives.Multiply(u2, 2 * MathF.PI, u2);
        var sin = new float[half]; var cos = new float[half];
        TensorPrimitives.SinCos(u2, sin, cos);
        TensorPrimitives.Multiply(r, cos, x[..half]);
        TensorPrimitives.Multiply(r, sin, x[half..]);
        TensorPrimitives.Add(x, 0.2f, x);
        TensorPrimitives.Max(x, 0f, x);
        TensorPrimitives.Multiply(x, g, x);
    }

    /// <summary>Standard normal CDF (erfc, Numerical Recipes' Chebyshev fit, relative error &lt; 1.2e-7).</summary>
    static double Phi(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double ans = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? ans : 2 - ans;
    }
}
