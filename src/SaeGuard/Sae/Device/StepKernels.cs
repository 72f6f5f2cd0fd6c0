using ILGPU;

namespace SaeGuard.Sae.Device;

/// <summary>Dense per-row parts of a step: residual and its sums, AuxK residual, ∂L/∂pre, firing tracker.</summary>
public static class StepKernels
{
    public const int RowStats = 5;

    /// <summary>
    /// G[t] = (x̂ − x)·2/B; stats[t] = (‖x̂−x‖², ‖x‖², ‖x̂‖/‖x‖, active entries, 0).
    /// </summary>
    public static void Residual(Index1D t, ArrayView<float> x, ArrayView<float> xhat, ArrayView<float> grad, int d, float twoOverB,
        ArrayView<float> val, ArrayView<int> count, int k, ArrayView<float> stats)
    {
        float sse = 0f, xx = 0f, hh = 0f;
        int b = t * d;
        for (int i = 0; i < d; i++)
        {
            float xi = x[b + i], hi = xhat[b + i], diff = hi - xi;
            sse += diff * diff; xx += xi * xi; hh += hi * hi;
            grad[b + i] = diff * twoOverB;
        }
        int active = 0, n = count[t];
        for (int e = 0; e < n; e++) if (val[t * k + e] > 0f) active++;
        stats[t * RowStats] = sse;
        stats[t * RowStats + 1] = xx;
        stats[t * RowStats + 2] = xx > 0f ? MathF.Sqrt(hh / xx) : 0f;
        stats[t * RowStats + 3] = active;
        stats[t * RowStats + 4] = 0f;
    }

    /// <summary>Σ_t x[t, i] for the explained variance.</summary>
    public static void ColumnSums(Index1D i, ArrayView<float> x, int rows, int d, ArrayView<float> sums)
    {
        float s = 0f;
        for (int t = 0; t < rows; t++) s += x[t * d + i];
        sums[i] = s;
    }

    /// <summary>AuxK: G[rows + t] = c·2/B·(ê − (x − x̂)); stats[t, 4] = ‖ê − (x − x̂)‖².</summary>
    public static void AuxResidual(Index1D t, ArrayView<float> x, ArrayView<float> xhat, ArrayView<float> auxHat, ArrayView<float> grad,
        int rows, int d, float scale, ArrayView<float> stats)
    {
        float acc = 0f;
        int b = t * d, gb = (rows + t) * d;
        for (int i = 0; i < d; i++)
        {
            float r = auxHat[b + i] + (xhat[b + i] - x[b + i]);
            grad[gb + i] = scale * r;
            acc += r * r;
        }
        stats[t * RowStats + 4] = acc;
    }

    /// <summary>δ = ∂L/∂z for active entries, 0 for the rest (TopK: no penalty).</summary>
    public static void Delta(Index1D p, ArrayView<float> val, ArrayView<float> dz, ArrayView<float> delta) =>
        delta[p] = val[p] > 0f ? dz[p] : 0f;

    /// <summary>Marks the latents that fired (value &gt; 0) and counts their firings in the group.</summary>
    public static void MarkFired(Index1D p, ArrayView<int> idx, ArrayView<float> val, ArrayView<int> count, int k,
        ArrayView<int> fired, ArrayView<int> groupFires)
    {
        int t = p / k, e = p - t * k;
        if (e >= count[t] || !(val[p] > 0f)) return;
        int j = idx[p];
        fired[j] = 1;
        Atomic.Add(ref groupFires[j], 1);
    }

    /// <summary>Tokens since firing, the dead mask and the dead count; clears the fired marks.</summary>
    public static void UpdateTracker(Index1D j, ArrayView<int> fired, ArrayView<int> since, int rows, long deadAfter,
        ArrayView<int> dead, ArrayView<int> nDead)
    {
        long s = fired[j] != 0 ? 0 : (long)since[j] + rows;
        since[j] = s > int.MaxValue ? int.MaxValue : (int)s;
        fired[j] = 0;
        bool isDead = since[j] >= deadAfter;
        dead[j] = isDead ? 1 : 0;
        if (isDead) Atomic.Add(ref nDead[0], 1);
    }
}
