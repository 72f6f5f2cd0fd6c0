using ILGPU;
using ILGPU.Runtime;

namespace SaeGuard.Sae.Device;

/// <summary>
/// SGEMM C[n,m] = A[n,k]·B[m,k]ᵀ + bias[m] (the encoder product: B = W_encᵀ, latent-major).
/// Tiles of 64×64 outputs per group of 16×16 threads, 4×4 outputs per thread in registers,
/// A and B staged through shared memory 16 columns of k at a time.
/// </summary>
public static class GemmKernel
{
    public const int Bm = 64, Bn = 64, Bk = 16, Threads = 16, PerThread = 4;

    public static KernelConfig Config(int n, int m) =>
        new(new Index2D((m + Bn - 1) / Bn, (n + Bm - 1) / Bm), new Index2D(Threads, Threads));

    public static void Run(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c, int n, int k, int m)
    {
        var sa = SharedMemory.Allocate<float>(Bk * Bm);
        var sb = SharedMemory.Allocate<float>(Bk * Bn);
        var acc = LocalMemory.Allocate<float>(PerThread * PerThread);
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * Threads + tx;
        int row0 = Grid.IdxY * Bm, col0 = Grid.IdxX * Bn;
        for (int q = 0; q < PerThread * PerThread; q++) acc[q] = 0f;
        for (int k0 = 0; k0 < k; k0 += Bk)
        {
            for (int l = 0; l < Bm * Bk / (Threads * Threads); l++)
            {
                int e = tid + Threads * Threads * l;
                int r = e / Bk, kk = e - r * Bk;
                int gk = k0 + kk, gr = row0 + r, gc = col0 + r;
                sa[kk * Bm + r] = gr < n && gk < k ? a[gr * k + gk] : 0f;
                sb[kk * Bn + r] = gc < m && gk < k ? b[gc * k + gk] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < Bk; kk++)
                for (int i = 0; i < PerThread; i++)
                {
                    float av = sa[kk * Bm + ty + Threads * i];
                    for (int j = 0; j < PerThread; j++) acc[i * PerThread + j] += av * sb[kk * Bn + tx + Threads * j];
                }
            Group.Barrier();
        }
        for (int i = 0; i < PerThread; i++)
        {
            int r = row0 + ty + Threads * i;
            if (r >= n) continue;
            for (int j = 0; j < PerThread; j++)
            {
                int col = col0 + tx + Threads * j;
                if (col < m) c[r * m + col] = acc[i * PerThread + j] + bias[col];
            }
        }
    }

    /// <summary>c[r, j] += bias[j] (after a library GEMM that has no bias).</summary>
    public static void AddBias(Index1D g, ArrayView<float> c, ArrayView<float> bias, int m) => c[g] += bias[g % m];
}
