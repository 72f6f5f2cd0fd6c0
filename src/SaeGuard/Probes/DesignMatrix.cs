using System.Numerics.Tensors;

namespace SaeGuard.Probes;

/// <summary>
/// The solver's view of a feature matrix [Rows, Cols]: the two products logistic regression
/// needs. Dense float64, or sparse raw values standardised on the fly (for pooled SAE codes,
/// which are mostly zeros: centring would make them dense).
/// </summary>
public abstract class DesignMatrix
{
    public int Rows { get; protected init; }
    public int Cols { get; protected init; }

    /// <summary>zᵢ = xᵢ·w + b for every row.</summary>
    public abstract void Multiply(ReadOnlySpan<double> w, double b, Span<double> z);

    /// <summary>g = Xᵀ r.</summary>
    public abstract void TransposeMultiply(ReadOnlySpan<double> r, Span<double> g);
}

public sealed class DenseDesign : DesignMatrix
{
    readonly double[] _x;

    public DenseDesign(double[] x, int rows, int cols)
    {
        if (x.Length != (long)rows * cols) throw new ArgumentException($"x has {x.Length} values, expected {rows}×{cols}.");
        _x = x; Rows = rows; Cols = cols;
    }

    public override void Multiply(ReadOnlySpan<double> w, double b, Span<double> z)
    {
        for (int i = 0; i < Rows; i++) z[i] = TensorPrimitives.Dot(_x.AsSpan(i * Cols, Cols), w) + b;
    }

    public override void TransposeMultiply(ReadOnlySpan<double> r, Span<double> g)
    {
        g.Clear();
        for (int i = 0; i < Rows; i++)
            if (r[i] != 0) TensorPrimitives.MultiplyAdd(_x.AsSpan(i * Cols, Cols), r[i], g, g);
    }
}

/// <summary>
/// Standardised features (x − μ)·s kept as the sparse raw x (CSR) plus μ and s:
/// x'·w = Σ (wⱼsⱼ) xⱼ − Σ wⱼsⱼμⱼ and (X'ᵀr)ⱼ = sⱼ (Σᵢ rᵢxᵢⱼ − μⱼ Σᵢ rᵢ). Exactly the values of
/// <see cref="Standardizer.Transform"/>, at a cost proportional to the non-zeros.
/// </summary>
public sealed class SparseStandardizedDesign : DesignMatrix
{
    readonly int[] _rowStart;
    readonly int[] _col;
    readonly double[] _val;
    readonly double[] _mean;
    readonly double[] _scale;
    readonly double[] _u;

    public SparseStandardizedDesign(float[] x, int width, IReadOnlyList<int> rows, int[] features, Standardizer std)
    {
        Rows = rows.Count; Cols = features.Length;
        var colOf = new int[width];
        Array.Fill(colOf, -1);
        for (int k = 0; k < features.Length; k++) colOf[features[k]] = k;
        _rowStart = new int[Rows + 1];
        var cols = new List<int>();
        var vals = new List<double>();
        for (int i = 0; i < Rows; i++)
        {
            var row = x.AsSpan(rows[i] * width, width);
            for (int j = 0; j < width; j++)
                if (row[j] != 0 && colOf[j] >= 0) { cols.Add(colOf[j]); vals.Add(row[j]); }
            _rowStart[i + 1] = cols.Count;
        }
        _col = cols.ToArray(); _val = vals.ToArray();
        _mean = features.Select(j => (double)std.Mean[j]).ToArray();
        _scale = features.Select(j => (double)std.Scale[j]).ToArray();
        _u = new double[Cols];
    }

    /// <summary>Fraction of non-zero raw values among the rows and features.</summary>
    public double Density => Rows * (double)Cols == 0 ? 0 : _val.Length / (Rows * (double)Cols);

    public override void Multiply(ReadOnlySpan<double> w, double b, Span<double> z)
    {
        var u = _u;
        double shift = 0;
        for (int k = 0; k < Cols; k++) { u[k] = w[k] * _scale[k]; shift += u[k] * _mean[k]; }
        for (int i = 0; i < Rows; i++)
        {
            double s = 0;
            for (int p = _rowStart[i]; p < _rowStart[i + 1]; p++) s += u[_col[p]] * _val[p];
            z[i] = s - shift + b;
        }
    }

    public override void TransposeMultiply(ReadOnlySpan<double> r, Span<double> g)
    {
        g.Clear();
        double total = 0;
        for (int i = 0; i < Rows; i++)
        {
            double ri = r[i];
            total += ri;
            if (ri == 0) continue;
            for (int p = _rowStart[i]; p < _rowStart[i + 1]; p++) g[_col[p]] += ri * _val[p];
        }
        for (int k = 0; k < Cols; k++) g[k] = _scale[k] * (g[k] - _mean[k] * total);
    }
}
