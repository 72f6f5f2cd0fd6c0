using SaeGuard.Common;

namespace SaeGuard.Activations;

/// <summary>The sparse_topk shard layout (topk_indices / topk_values [rows, k]) expanded to dense rows.</summary>
public static class SparseTopKRows
{
    /// <summary>
    /// Writes rows × <paramref name="d"/> dense values into <paramref name="dense"/> (cleared first);
    /// index −1 is padding. <paramref name="row0"/> numbers the rows in messages.
    /// </summary>
    public static void Scatter(ReadOnlySpan<int> idx, ReadOnlySpan<float> val, int rows, int k, int d, Span<float> dense, string path, long row0 = 0)
    {
        dense[..checked(rows * d)].Clear();
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < k; j++)
            {
                int f = idx[i * k + j];
                if (f < 0) continue;
                if (f >= d) throw new UserError($"'{path}', row {row0 + i}: feature index {f} ≥ d = {d}.");
                dense[i * d + f] = val[i * k + j];
            }
    }
}
