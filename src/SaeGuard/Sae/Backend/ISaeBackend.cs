namespace SaeGuard.Sae.Backend;

/// <summary>Adam hyper-parameters for one step (bias correction uses <see cref="Step"/>, 1-based).</summary>
public readonly record struct AdamStep(float Lr, float Beta1, float Beta2, float Eps, int Step);

/// <summary>
/// The numeric kernels of SAE training and encoding. One dense GEMM per step; everything else
/// touches only the active latents of each token. All buffers are row-major float32 on the host;
/// a device backend would stage them. Implementations parallelise internally and must give the
/// same result whatever the thread count (fixed work partitions, ordered reductions).
/// </summary>
public interface ISaeBackend : IDisposable
{
    string Name { get; }

    /// <summary>c[n,m] = a[n,k]·B + bias, B stored [m,k] when <paramref name="bTransposed"/> else [k,m].</summary>
    void Gemm(ReadOnlySpan<float> a, int n, int k, ReadOnlySpan<float> b, int m, bool bTransposed, ReadOnlySpan<float> bias, Span<float> c);

    /// <summary>
    /// Per row of x [rows, m]: the ≤ k largest positive values (ties: lower index) into
    /// <paramref name="output"/>. With <paramref name="columns"/>, only those latents compete.
    /// </summary>
    void TopKRows(float[] x, int rows, int m, int k, SparseRows output, int[]? columns = null, int nColumns = 0);

    /// <summary>Per row of x [rows, m]: every entry with x[t,j] &gt; thresholds[j] (or &gt; threshold when thresholds is null).</summary>
    void SelectAbove(float[] x, int rows, int m, float[]? thresholds, float threshold, SparseRows output);

    /// <summary>The kth largest positive value among x[0..n) (kth ≥ 1), or 0 when fewer are positive. <paramref name="hint"/>: a value probably below it (0 = none).</summary>
    float KthLargestPositive(float[] x, long n, long kth, float hint);

    /// <summary>y[t] = bias + Σ_p Val[p]·W[Idx[p]] for each row t (W [*, d]).</summary>
    void SparseDecode(SparseRows codes, float[] w, int d, float[] bias, float[] y);

    /// <summary>dots[p] = g[gRow0 + t]·W[Idx[p]] for each entry p of row t.</summary>
    void SparseDots(SparseRows codes, float[] g, int gRow0, float[] w, int d, float[] dots);

    /// <summary>
    /// For each latent j: gA[j] = Σ CoefA·A[RowA], gB[j] = Σ CoefB·B[RowB] − (Σ CoefB)·bShift,
    /// sB[j] = Σ CoefB over its entries (rows of A and B are d wide). Latents without entries get zeros.
    /// </summary>
    void ColumnGradients(SparseColumns cols, float[] a, float[] b, int d, float[]? bShift, float[] gA, float[] gB, float[] sB);

    /// <summary>Adam update of p with gradient g and moments m, v (PyTorch's formulation).</summary>
    void Adam(float[] p, float[] g, float[] m, float[] v, AdamStep hp);

    /// <summary>
    /// Adam for a matrix kept at unit-norm rows (the decoder): per row, the gradient's component
    /// along the row is removed (g_j −= (g_j·w_j/‖w_j‖²)·w_j), Adam steps, and the row is renormalised.
    /// </summary>
    void AdamUnitRows(float[] w, float[] g, float[] m, float[] v, int rows, int d, AdamStep hp);

    /// <summary>Scales each row of w to unit norm.</summary>
    void NormalizeRows(float[] w, int rows, int d);
}
