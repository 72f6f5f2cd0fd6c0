using System.Runtime.Intrinsics;

namespace SaeGuard.Analysis;

/// <summary>How the sampled code rows are prepared before the PCA.</summary>
public enum PcaMode { Raw, Centre, Standardise }

public sealed record PcaResult
{
    public required PcaMode Mode { get; init; }
    public required double[] Pc1 { get; init; }
    public required double[] Pc2 { get; init; }
    /// <summary>Share of the total (centred, standardised or raw) sum of squares along PC1 / PC2.</summary>
    public required double Explained1 { get; init; }
    public required double Explained2 { get; init; }
    /// <summary>The sample rows the points belong to (same order as Pc1/Pc2).</summary>
    public required IReadOnlyList<SampleRow> Rows { get; init; }
}

/// <summary>
/// Top two principal components of the sampled code rows by randomised subspace iteration
/// (Halko, Martinsson &amp; Tropp 2011: 8-dimensional subspace, 4 power iterations), done on the
/// implicit matrix A = (S − c·1μᵀ)·diag(1/σ) so sparse rows stay sparse. Raw: c = 0, σ = 1
/// (uncentred: PC1 is the mean offset when one dominates, the seed's check); centre: c = 1;
/// standardise: c = 1 and σ = column std (constant columns dropped).
/// </summary>
public static class SamplePca
{
    const int L = 8, Iterations = 4;

    public static PcaResult? Compute(IReadOnlyList<SampleRow> sample, int width, PcaMode mode, int seed)
    {
        var rows = sample.Where(r => r.HasData).ToList();
        int m = rows.Count;
        if (m < 3) return null;
        var (mu, invSigma) = ColumnStats(rows, width, mode);
        double c = mode == PcaMode.Raw ? 0 : 1;
        var rng = new Random(seed);
        var z = new float[width * L];
        for (int i = 0; i < z.Length; i++) z[i] = (float)Gaussian(rng);
        var y = new double[m * L];
        MultiplyA(rows, width, mu, invSigma, c, z, y);
        Orthonormalize(y, m);
        for (int it = 0; it < Iterations; it++)
        {
            MultiplyAt(rows, width, mu, invSigma, c, y, z);
            var zd = z.Select(v => (double)v).ToArray();
            Orthonormalize(zd, width);
            for (int i = 0; i < z.Length; i++) z[i] = (float)zd[i];
            MultiplyA(rows, width, mu, invSigma, c, z, y);
            Orthonormalize(y, m);
        }
        // B = Qᵀ A; its Gram B Bᵀ = (Aᵀ Q)ᵀ (Aᵀ Q) gives the singular values and left vectors in the subspace
        MultiplyAt(rows, width, mu, invSigma, c, y, z);
        var gram = new double[L * L];
        for (int j = 0; j < width; j++)
            for (int a = 0; a < L; a++)
                for (int b = 0; b < L; b++) gram[a * L + b] += (double)z[j * L + a] * z[j * L + b];
        if (!gram.All(double.IsFinite))
            throw new Common.UserError("analyze: the sampled codes hold NaN or infinite values, so the PCA cannot run; check the SAE weights (or pass --nonfinite skip for the activations).");
        var (eig, vecs) = JacobiEigen(gram, L);
        var order = Enumerable.Range(0, L).OrderByDescending(i => eig[i]).ToArray();
        double totalSq = TotalSumOfSquares(rows, width, mu, invSigma, c);
        var pcs = new double[2][];
        var explained = new double[2];
        for (int k = 0; k < 2; k++)
        {
            int e = order[k];
            double sigma = Math.Sqrt(Math.Max(0, eig[e]));
            var u = Enumerable.Range(0, L).Select(a => vecs[a * L + e]).ToArray();
            // loadings v = Bᵀu/σ, used only for a deterministic sign (largest |loading| positive)
            double best = 0;
            for (int j = 0; j < width; j++)
            {
                double v = 0;
                for (int a = 0; a < L; a++) v += z[j * L + a] * u[a];
                if (Math.Abs(v) > Math.Abs(best)) best = v;
            }
            double sign = best < 0 ? -1 : 1;
            var score = new double[m];
            for (int i = 0; i < m; i++)
            {
                double s = 0;
                for (int a = 0; a < L; a++) s += y[i * L + a] * u[a];
                score[i] = sign * sigma * s;
            }
            pcs[k] = score;
            explained[k] = totalSq > 0 ? eig[e] / totalSq : 0;
        }
        return new PcaResult { Mode = mode, Pc1 = pcs[0], Pc2 = pcs[1], Explained1 = explained[0], Explained2 = explained[1], Rows = rows };
    }

    static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    static (double[] Mu, double[] InvSigma) ColumnStats(List<SampleRow> rows, int w, PcaMode mode)
    {
        var sum = new double[w]; var sq = new double[w];
        foreach (var r in rows)
        {
            if (r.Dense != null) for (int j = 0; j < w; j++) { double v = r.Dense[j]; sum[j] += v; sq[j] += v * v; }
            else for (int k = 0; k < r.Index!.Length; k++) { double v = r.Values![k]; sum[r.Index[k]] += v; sq[r.Index[k]] += v * v; }
        }
        var mu = new double[w]; var inv = new double[w];
        for (int j = 0; j < w; j++)
        {
            mu[j] = sum[j] / rows.Count;
            double sd = Math.Sqrt(Math.Max(0, sq[j] / rows.Count - mu[j] * mu[j]));
            inv[j] = mode != PcaMode.Standardise ? 1 : sd > 1e-12 * Math.Max(1, Math.Abs(mu[j])) ? 1 / sd : 0;
        }
        return (mu, inv);
    }

    /// <summary>y = A z, with z [width, L] row-major, y [m, L].</summary>
    static void MultiplyA(List<SampleRow> rows, int w, double[] mu, double[] inv, double c, float[] z, double[] y)
    {
        var zs = new float[z.Length];
        var offset = new double[L];
        for (int j = 0; j < w; j++)
            for (int a = 0; a < L; a++)
            {
                zs[j * L + a] = (float)(z[j * L + a] * inv[j]);
                offset[a] += c * mu[j] * zs[j * L + a];
            }
        Parallel.For(0, rows.Count, i =>
        {
            var r = rows[i];
            var acc = Vector256<float>.Zero;
            if (r.Dense != null)
                for (int j = 0; j < w; j++) acc = Vector256.FusedMultiplyAdd(Vector256.Create(r.Dense[j]), Vector256.Create(zs, j * L), acc);
            else
                for (int k = 0; k < r.Index!.Length; k++) acc = Vector256.FusedMultiplyAdd(Vector256.Create(r.Values![k]), Vector256.Create(zs, r.Index[k] * L), acc);
            for (int a = 0; a < L; a++) y[i * L + a] = acc[a] - offset[a];
        });
    }

    /// <summary>z = Aᵀ y, with y [m, L], z [width, L].</summary>
    static void MultiplyAt(List<SampleRow> rows, int w, double[] mu, double[] inv, double c, double[] y, float[] z)
    {
        int workers = Math.Max(1, Math.Min(Environment.ProcessorCount, rows.Count / 64));
        var parts = new float[workers][];
        Parallel.For(0, workers, p =>
        {
            var g = parts[p] = new float[w * L];
            for (int i = p; i < rows.Count; i += workers)
            {
                var r = rows[i];
                var yi = Vector256.Create(Enumerable.Range(0, L).Select(a => (float)y[i * L + a]).ToArray());
                if (r.Dense != null)
                    for (int j = 0; j < w; j++)
                    {
                        if (r.Dense[j] == 0) continue;
                        Vector256.FusedMultiplyAdd(Vector256.Create(r.Dense[j]), yi, Vector256.Create(g, j * L)).CopyTo(g, j * L);
                    }
                else
                    for (int k = 0; k < r.Index!.Length; k++)
                    {
                        int j = r.Index[k];
                        Vector256.FusedMultiplyAdd(Vector256.Create(r.Values![k]), yi, Vector256.Create(g, j * L)).CopyTo(g, j * L);
                    }
            }
        });
        var ysum = new double[L];
        for (int i = 0; i < rows.Count; i++) for (int a = 0; a < L; a++) ysum[a] += y[i * L + a];
        for (int j = 0; j < w; j++)
            for (int a = 0; a < L; a++)
            {
                double g = 0;
                foreach (var part in parts) g += part[j * L + a];
                z[j * L + a] = (float)(inv[j] * (g - c * mu[j] * ysum[a]));
            }
    }

    static double TotalSumOfSquares(List<SampleRow> rows, int w, double[] mu, double[] inv, double c)
    {
        double constPart = 0;
        for (int j = 0; j < w; j++) constPart += c * mu[j] * mu[j] * inv[j] * inv[j];
        double total = 0;
        foreach (var r in rows)
        {
            // ‖(s − cμ)∘inv‖² = Σⱼ (sⱼ² − 2c sⱼ μⱼ) invⱼ² + c Σⱼ μⱼ² invⱼ²
            double s = constPart;
            if (r.Dense != null) for (int j = 0; j < w; j++) { double v = r.Dense[j]; s += (v * v - 2 * c * v * mu[j]) * inv[j] * inv[j]; }
            else for (int k = 0; k < r.Index!.Length; k++) { int j = r.Index[k]; double v = r.Values![k]; s += (v * v - 2 * c * v * mu[j]) * inv[j] * inv[j]; }
            total += s;
        }
        return total;
    }

    /// <summary>Modified Gram–Schmidt on the L columns of a row-major [n, L] matrix; null columns stay zero.</summary>
    static void Orthonormalize(double[] x, int n)
    {
        for (int a = 0; a < L; a++)
        {
            for (int b = 0; b < a; b++)
            {
                double d = 0;
                for (int i = 0; i < n; i++) d += x[i * L + a] * x[i * L + b];
                for (int i = 0; i < n; i++) x[i * L + a] -= d * x[i * L + b];
            }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += x[i * L + a] * x[i * L + a];
            norm = Math.Sqrt(norm);
            double s = norm > 1e-30 ? 1 / norm : 0;
            for (int i = 0; i < n; i++) x[i * L + a] *= s;
        }
    }

    /// <summary>Eigenvalues and eigenvectors (columns of a row-major [n, n]) of a symmetric matrix, cyclic Jacobi.</summary>
    internal static (double[] Values, double[] Vectors) JacobiEigen(double[] sym, int n)
    {
        var a = (double[])sym.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
            if (off < 1e-30) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[p * n + q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double cs = 1 / Math.Sqrt(t * t + 1), sn = t * cs;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k * n + p], akq = a[k * n + q];
                        a[k * n + p] = cs * akp - sn * akq; a[k * n + q] = sn * akp + cs * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p * n + k], aqk = a[q * n + k];
                        a[p * n + k] = cs * apk - sn * aqk; a[q * n + k] = sn * apk + cs * aqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k * n + p], vkq = v[k * n + q];
                        v[k * n + p] = cs * vkp - sn * vkq; v[k * n + q] = sn * vkp + cs * vkq;
                    }
                }
        }
        return (Enumerable.Range(0, n).Select(i => a[i * n + i]).ToArray(), v);
    }
}
