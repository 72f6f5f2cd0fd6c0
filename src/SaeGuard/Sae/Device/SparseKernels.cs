using ILGPU;

namespace SaeGuard.Sae.Device;

/// <summary>
/// The sparse parts of a step on the padded [rows, k] code layout: decode, per-entry dot
/// products, the gradient scatter (atomics) and the dense bias terms.
/// </summary>
public static class SparseKernels
{
    /// <summary>Entries one <see cref="Scatter"/> launch may cover (CUDA's and ILGPU-CPU's grid Y limit).</summary>
    public const int MaxEntriesPerLaunch = 65535;

    /// <summary>y[t, i] = bias[i]·useBias + Σ_e val[t,e]·W[idx[t,e], i]; g runs over rows·d.</summary>
    public static void Decode(Index1D g, ArrayView<int> idx, ArrayView<float> val, ArrayView<int> count, int k,
        ArrayView<float> w, int d, ArrayView<float> bias, int useBias, ArrayView<float> y)
    {
        int t = g / d, i = g - t * d;
        float s = useBias != 0 ? bias[i] : 0f;
        int n = count[t];
        for (int e = 0; e < n; e++) s += val[t * k + e] * w[idx[t * k + e] * d + i];
        y[g] = s;
    }

    /// <summary>dots[t, e] = G[gRow0 + t]·W[idx[t, e]] (0 for unused slots); g runs over rows·k.</summary>
    public static void Dots(Index1D g, ArrayView<int> idx, ArrayView<int> count, int k, ArrayView<float> grad, int gRow0,
        ArrayView<float> w, int d, ArrayView<float> dots)
    {
        int t = g / k, e = g - t * k;
        if (e >= count[t]) { dots[g] = 0f; return; }
        int wb = idx[g] * d, gb = (gRow0 + t) * d;
        float s = 0f;
        for (int i = 0; i < d; i++) s += grad[gb + i] * w[wb + i];
        dots[g] = s;
    }

    /// <summary>
    /// Adds entries [entry0, entry0 + g.Y extent) of the padded layout (entry = row·k + slot) to the latent
    /// gradients: ∂W_dec,j += val·G[gRow0 + t], ∂W_enc,j += δ·(x_t − b_dec), ∂b_enc,j += δ. g.X runs over d,
    /// g.Y over the launch's entries (at most <see cref="MaxEntriesPerLaunch"/>: a grid's Y extent is 65,535).
    /// </summary>
    public static void Scatter(Index2D g, int entry0, int k, ArrayView<int> idx, ArrayView<float> val, ArrayView<float> delta,
        ArrayView<int> count, ArrayView<float> grad, int gRow0, ArrayView<float> x, ArrayView<float> bDec,
        ArrayView<float> gWDec, ArrayView<float> gWEncT, ArrayView<float> gBEnc, int d)
    {
        int i = g.X, p = entry0 + g.Y;
        int t = p / k, e = p - t * k;
        if (e >= count[t]) return;
        int j = idx[p];
        float v = val[p];
        if (v != 0f) Atomic.Add(ref gWDec[j * d + i], v * grad[(gRow0 + t) * d + i]);
        float dl = delta[p];
        if (dl != 0f)
        {
            Atomic.Add(ref gWEncT[j * d + i], dl * (x[t * d + i] - bDec[i]));
            if (i == 0) Atomic.Add(ref gBEnc[j], dl);
        }
    }

    /// <summary>∂b_dec[i] = Σ_t G[t, i] − Σ_j ∂b_enc[j]·W_encᵀ[j, i].</summary>
    public static void BDecGrad(Index1D i, ArrayView<float> grad, int rows, ArrayView<float> gBEnc, ArrayView<float> wEncT, int m, int d,
        ArrayView<float> gBDec)
    {
        float a = 0f, b = 0f;
        for (int t = 0; t < rows; t++) a += grad[t * d + i];
        for (int j = 0; j < m; j++) b += gBEnc[j] * wEncT[j * d + i];
        gBDec[i] = a - b;
    }

    /// <summary>encBias[j] = b_enc[j] − W_encᵀ[j]·b_dec (so pre = x·W_enc + encBias).</summary>
    public static void EncoderBias(Index1D j, ArrayView<float> bEnc, ArrayView<float> wEncT, ArrayView<float> bDec, int d, ArrayView<float> encBias)
    {
        float s = 0f;
        for (int i = 0; i < d; i++) s += wEncT[j * d + i] * bDec[i];
        encBias[j] = bEnc[j] - s;
    }
}
