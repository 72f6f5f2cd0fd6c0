using SaeGuard.Analysis;

namespace SaeGuard.Tests.Analysis;

public class SamplePcaTests
{
    /// <summary>Rows = 6·a·u + 3·b·v + small noise + a constant offset; some rows stored sparse.</summary>
    static (List<SampleRow> Rows, double[,] X) Planted(int m, int w, double offset, int seed, bool sparseRows = true)
    {
        var rng = new Random(seed);
        var u = Unit(w, rng); var v = Unit(w, rng);
        var rows = new List<SampleRow>();
        var x = new double[m, w];
        for (int i = 0; i < m; i++)
        {
            double a = Synthetic.Gaussian(rng), b = Synthetic.Gaussian(rng);
            var row = new float[w];
            for (int j = 0; j < w; j++)
            {
                // odd rows keep only every third entry, so they are stored sparse
                double val = offset + 6 * a * u[j] + 3 * b * v[j] + 0.05 * Synthetic.Gaussian(rng);
                if (sparseRows && i % 2 == 1 && j % 3 != 0) val = 0;
                row[j] = (float)val; x[i, j] = row[j];
            }
            rows.Add(SampleRow.From(row, i, 0, 0));
        }
        return (rows, x);
    }

    static double[] Unit(int w, Random rng)
    {
        var u = Enumerable.Range(0, w).Select(_ => Synthetic.Gaussian(rng)).ToArray();
        double n = Math.Sqrt(u.Sum(a => a * a));
        return u.Select(a => a / n).ToArray();
    }

    /// <summary>float64 reference: covariance (or second moment) by power iteration with deflation.</summary>
    static (double[] Scores1, double[] Scores2, double Ratio1, double Ratio2) Reference(double[,] x, PcaMode mode)
    {
        int m = x.GetLength(0), w = x.GetLength(1);
        var a = new double[m, w];
        for (int j = 0; j < w; j++)
        {
            double mu = 0, sq = 0;
            for (int i = 0; i < m; i++) { mu += x[i, j]; sq += x[i, j] * x[i, j]; }
            mu /= m;
            double sd = Math.Sqrt(sq / m - mu * mu);
            for (int i = 0; i < m; i++)
                a[i, j] = mode == PcaMode.Raw ? x[i, j] : mode == PcaMode.Centre ? x[i, j] - mu : (x[i, j] - mu) / sd;
        }
        var c = new double[w, w];
        for (int p = 0; p < w; p++) for (int q = 0; q < w; q++) { double s = 0; for (int i = 0; i < m; i++) s += a[i, p] * a[i, q]; c[p, q] = s; }
        double trace = Enumerable.Range(0, w).Sum(p => c[p, p]);
        var scores = new double[2][]; var ratio = new double[2];
        for (int k = 0; k < 2; k++)
        {
            var v = Enumerable.Range(0, w).Select(i => 1.0 + i % 7).ToArray();
            double lambda = 0;
            for (int it = 0; it < 3000; it++)
            {
                var nv = new double[w];
                for (int p = 0; p < w; p++) for (int q = 0; q < w; q++) nv[p] += c[p, q] * v[q];
                lambda = Math.Sqrt(nv.Sum(t => t * t));
                v = nv.Select(t => t / lambda).ToArray();
            }
            ratio[k] = lambda / trace;
            scores[k] = Enumerable.Range(0, m).Select(i => Enumerable.Range(0, w).Sum(j => a[i, j] * v[j])).ToArray();
            for (int p = 0; p < w; p++) for (int q = 0; q < w; q++) c[p, q] -= lambda * v[p] * v[q];
        }
        return (scores[0], scores[1], ratio[0], ratio[1]);
    }

    static double AbsCorrelation(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) * (a[i] - ma); sbb += (b[i] - mb) * (b[i] - mb); }
        return Math.Abs(sab / Math.Sqrt(saa * sbb));
    }

    [Theory]
    [InlineData(PcaMode.Centre)]
    [InlineData(PcaMode.Standardise)]
    [InlineData(PcaMode.Raw)]
    public void TheTopTwoComponentsMatchAFloat64Reference(PcaMode mode)
    {
        var (rows, x) = Planted(300, 37, 0.5, 1);
        Assert.Contains(rows, r => r.Index != null);
        Assert.Contains(rows, r => r.Dense != null);
        var p = SamplePca.Compute(rows, 37, mode, seed: 3)!;
        var (s1, s2, r1, r2) = Reference(x, mode);
        Assert.Equal(r1, p.Explained1, 3);
        Assert.Equal(r2, p.Explained2, 3);
        Assert.True(AbsCorrelation(s1, p.Pc1) > 0.999, $"PC1 correlation {AbsCorrelation(s1, p.Pc1)}");
        Assert.True(AbsCorrelation(s2, p.Pc2) > 0.999, $"PC2 correlation {AbsCorrelation(s2, p.Pc2)}");
        // scores are projections: their sums of squares are the explained shares of the total
        Assert.Equal(r1 / r2, p.Pc1.Sum(v => v * v) / p.Pc2.Sum(v => v * v), 2);
    }

    [Fact]
    public void UncentredPcaShowsAnOffsetAsPc1AndCentringRemovesIt()
    {
        var (rows, _) = Planted(300, 40, 5.0, 2, sparseRows: false);
        var raw = SamplePca.Compute(rows, 40, PcaMode.Raw, 0)!;
        var centred = SamplePca.Compute(rows, 40, PcaMode.Centre, 0)!;
        // offset energy 40·25 = 1000 per row vs 36 + 9 of signal: raw PC1 is the offset, every token on one side
        Assert.True(raw.Explained1 > 0.9, $"raw PC1 {raw.Explained1}");
        Assert.True(raw.Pc1.All(v => v > 0) || raw.Pc1.All(v => v < 0));
        // centred: the planted 6:3 structure, PC1 ≈ 36 / 45 of the variance
        Assert.InRange(centred.Explained1, 0.75, 0.85);
    }

    [Fact]
    public void JacobiFindsTheEigenvaluesOfASymmetricMatrix()
    {
        var a = new double[] { 4, 1, 2, 1, 3, 0, 2, 0, 5 };
        var (vals, vecs) = SamplePca.JacobiEigen(a, 3);
        // A v = λ v for each column
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 3; i++)
            {
                double av = 0;
                for (int j = 0; j < 3; j++) av += a[i * 3 + j] * vecs[j * 3 + k];
                Assert.Equal(vals[k] * vecs[i * 3 + k], av, 9);
            }
        Assert.Equal(12, vals.Sum(), 9);   // trace
        Assert.Equal(4 * 15 - 1 * 5 + 2 * -6, vals.Aggregate(1.0, (p, v) => p * v), 8);   // determinant = 43
    }

    [Fact]
    public void TooFewRowsGiveNoPca() => Assert.Null(SamplePca.Compute(new[] { SampleRow.From(new float[] { 1, 2 }, 0, 0, 2) }, 2, PcaMode.Centre, 0));
}
