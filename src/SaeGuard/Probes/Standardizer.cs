namespace SaeGuard.Probes;

/// <summary>
/// Per-feature centring and scaling fitted on given rows only (the training fold): x' = (x − μ)·s
/// with s = 1/σ (population σ, as scikit-learn's StandardScaler), and s = 0 for a feature that is
/// constant on those rows, so it cannot carry information from rows it was not fitted on.
/// </summary>
public sealed class Standardizer
{
    public float[] Mean { get; }
    public float[] Scale { get; }
    public int Width => Mean.Length;

    public Standardizer(float[] mean, float[] scale)
    {
        if (mean.Length != scale.Length) throw new ArgumentException("mean and scale differ in length.");
        Mean = mean; Scale = scale;
    }

    /// <summary>Fits on rows <paramref name="rows"/> of the row-major matrix x [*, width].</summary>
    public static Standardizer Fit(float[] x, int width, IReadOnlyList<int> rows)
    {
        var sum = new double[width];
        var sq = new double[width];
        foreach (var r in rows)
        {
            var row = x.AsSpan(r * width, width);
            for (int j = 0; j < width; j++) { double v = row[j]; sum[j] += v; }
        }
        int n = rows.Count;
        var mean = new double[width];
        for (int j = 0; j < width; j++) mean[j] = sum[j] / n;
        foreach (var r in rows)
        {
            var row = x.AsSpan(r * width, width);
            for (int j = 0; j < width; j++) { double d = row[j] - mean[j]; sq[j] += d * d; }
        }
        var m = new float[width];
        var s = new float[width];
        for (int j = 0; j < width; j++)
        {
            double sd = Math.Sqrt(sq[j] / n);
            m[j] = (float)mean[j];
            s[j] = sd > 1e-6 * Math.Max(1, Math.Abs(mean[j])) ? (float)(1 / sd) : 0f;
        }
        return new Standardizer(m, s);
    }

    /// <summary>Indices of features with a non-zero scale (varying on the fitted rows).</summary>
    public int[] Varying() => Enumerable.Range(0, Width).Where(j => Scale[j] != 0).ToArray();

    /// <summary>
    /// The standardised chosen features of the chosen rows for the solver: sparse (raw non-zeros,
    /// standardised on the fly) when at most <paramref name="sparseBelow"/> of the raw values are
    /// non-zero, dense otherwise. Same numbers either way.
    /// </summary>
    public DesignMatrix Design(float[] x, IReadOnlyList<int> rows, int[] features, double sparseBelow = 0.35)
    {
        long nz = 0;
        foreach (var r in rows)
        {
            var row = x.AsSpan(r * Width, Width);
            foreach (var j in features) if (row[j] != 0) nz++;
        }
        double density = rows.Count * (double)features.Length == 0 ? 1 : nz / (rows.Count * (double)features.Length);
        return density <= sparseBelow
            ? new SparseStandardizedDesign(x, Width, rows, features, this)
            : new DenseDesign(Transform(x, rows, features), rows.Count, features.Length);
    }

    /// <summary>Standardised values of the chosen features for the chosen rows, row-major [rows, features] float64.</summary>
    public double[] Transform(float[] x, IReadOnlyList<int> rows, int[] features)
    {
        int f = features.Length;
        var outp = new double[rows.Count * f];
        for (int i = 0; i < rows.Count; i++)
        {
            var row = x.AsSpan(rows[i] * Width, Width);
            for (int k = 0; k < f; k++)
            {
                int j = features[k];
                outp[i * f + k] = ((double)row[j] - Mean[j]) * Scale[j];
            }
        }
        return outp;
    }
}
