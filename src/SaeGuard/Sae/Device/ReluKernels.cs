using ILGPU;

namespace SaeGuard.Sae.Device;

/// <summary>
/// The ReLU + L1 training step's own parts on the device (<see cref="Architectures.ReluTrainingSae"/>):
/// every positive pre-activation selected into the padded [rows, m] layout, the decoder row norms,
/// δ = ∂z + (λ/B)·‖W_dec,j‖ with the per-row penalty Σ z·‖W_dec,j‖, and the penalty's decoder gradient
/// (λ/B)·(Σ_t z_tj)·W_dec,j/‖W_dec,j‖.
/// </summary>
public static class ReluKernels
{
    /// <summary>All values &gt; 0 of row t, in index order; unused slots index 0, value 0.</summary>
    public static void PositiveRows(Index1D t, ArrayView<float> pre, int m, ArrayView<int> idx, ArrayView<float> val, ArrayView<int> count)
    {
        int b = t * m, c = 0;
        for (int j = 0; j < m; j++)
        {
            float v = pre[b + j];
            if (v > 0f) { idx[b + c] = j; val[b + c] = v; c++; }
        }
        count[t] = c;
        for (int q = c; q < m; q++) { idx[b + q] = 0; val[b + q] = 0f; }
    }

    /// <summary>norms[j] = ‖W_dec,j‖.</summary>
    public static void RowNorms(Index1D j, ArrayView<float> w, int d, ArrayView<float> norms)
    {
        float s = 0f;
        for (int i = 0; i < d; i++) { float v = w[j * d + i]; s += v * v; }
        norms[j] = MathF.Sqrt(s);
    }

    /// <summary>δ[t, e] = ∂z[t, e] + perToken·‖W_dec,idx‖ for the used slots (else 0); penalty[t] = Σ_e z·‖W_dec,idx‖.</summary>
    public static void Deltas(Index1D t, ArrayView<int> idx, ArrayView<float> val, ArrayView<float> dz, ArrayView<int> count, int k,
        ArrayView<float> norms, float perToken, ArrayView<float> delta, ArrayView<float> penalty)
    {
        int b = t * k, n = count[t];
        float p = 0f;
        for (int e = 0; e < k; e++)
        {
            if (e < n)
            {
                float nj = norms[idx[b + e]];
                delta[b + e] = dz[b + e] + perToken * nj;
                p += val[b + e] * nj;
            }
            else delta[b + e] = 0f;
        }
        penalty[t] = p;
    }

    /// <summary>sumZ[j] += z over the used slots; g runs over rows·k.</summary>
    public static void SumZ(Index1D g, ArrayView<int> idx, ArrayView<float> val, ArrayView<int> count, int k, ArrayView<float> sumZ)
    {
        int t = g / k, e = g - t * k;
        if (e < count[t]) Atomic.Add(ref sumZ[idx[g]], val[g]);
    }

    /// <summary>∂W_dec[j, i] += scale·sumZ[j]/‖W_dec,j‖·W_dec[j, i] (scale = λ/B); g runs over m·d.</summary>
    public static void PenaltyGradient(Index1D g, ArrayView<float> sumZ, ArrayView<float> norms, ArrayView<float> w, int d, float scale, ArrayView<float> gW)
    {
        int j = g / d;
        float s = sumZ[j], nj = norms[j];
        if (s != 0f && nj > 0f) gW[g] += scale * s / nj * w[g];
    }
}
