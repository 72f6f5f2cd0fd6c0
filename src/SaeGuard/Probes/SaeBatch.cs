using SaeGuard.Sae;

namespace SaeGuard.Probes;

internal static class SaeBatch
{
    /// <summary>SAE codes [rows, d_sae] of rows x [rows, d_in], encoded in parallel chunks.</summary>
    public static float[] Encode(SaeModel sae, float[] x, int rows)
    {
        int d = sae.DIn, m = sae.DSae;
        var z = new float[(long)rows * m];
        const int chunk = 128;
        int chunks = (rows + chunk - 1) / chunk;
        Parallel.For(0, chunks, c =>
        {
            int r0 = c * chunk, n = Math.Min(chunk, rows - r0);
            sae.Encode(x.AsSpan(r0 * d, n * d), n, z.AsSpan(r0 * m, n * m));
        });
        return z;
    }
}
