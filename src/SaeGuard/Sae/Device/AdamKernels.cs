using ILGPU;

namespace SaeGuard.Sae.Device;

/// <summary>
/// Adam as <see cref="Backend.CpuBackend"/> computes it (PyTorch's formulation, same float
/// operations in the same order), and the decoder variant that keeps rows at unit norm.
/// </summary>
public static class AdamKernels
{
    public const int RowThreads = 32;

    public static void Adam(Index1D i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v,
        float b1, float b2, float stepSize, float invSqrtBc2, float eps)
    {
        float gi = g[i];
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi; v[i] = vi;
        p[i] -= stepSize * mi / (MathF.Sqrt(vi) * invSqrtBc2 + eps);
    }

    /// <summary>
    /// One group of <see cref="RowThreads"/> per decoder row j: g_j −= (g_j·w_j/‖w_j‖²)·w_j, Adam,
    /// w_j /= ‖w_j‖.
    /// </summary>
    public static void AdamUnitRows(ArrayView<float> w, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, int d,
        float b1, float b2, float stepSize, float invSqrtBc2, float eps)
    {
        var sh = SharedMemory.Allocate<float>(RowThreads);
        int j = Grid.IdxX, tid = Group.IdxX, b = j * d;
        float nn = 0f, gw = 0f;
        for (int i = tid; i < d; i += RowThreads) { float wi = w[b + i]; nn += wi * wi; gw += g[b + i] * wi; }
        nn = Sum(sh, nn, tid);
        gw = Sum(sh, gw, tid);
        float a = nn > 0f ? -gw / nn : 0f;
        float n2 = 0f;
        for (int i = tid; i < d; i += RowThreads)
        {
            float wi = w[b + i];
            float gi = g[b + i] + a * wi;
            g[b + i] = gi;
            float mi = b1 * m[b + i] + (1 - b1) * gi;
            float vi = b2 * v[b + i] + (1 - b2) * gi * gi;
            m[b + i] = mi; v[b + i] = vi;
            wi -= stepSize * mi / (MathF.Sqrt(vi) * invSqrtBc2 + eps);
            w[b + i] = wi;
            n2 += wi * wi;
        }
        n2 = Sum(sh, n2, tid);
        float nrm = MathF.Sqrt(n2);
        if (nrm > 0f)
        {
            float inv = 1 / nrm;
            for (int i = tid; i < d; i += RowThreads) w[b + i] *= inv;
        }
    }

    static float Sum(ArrayView<float> sh, float v, int tid)
    {
        sh[tid] = v;
        Group.Barrier();
        for (int s = RowThreads / 2; s > 0; s >>= 1)
        {
            if (tid < s) sh[tid] += sh[tid + s];
            Group.Barrier();
        }
        float r = sh[0];
        Group.Barrier();
        return r;
    }
}
