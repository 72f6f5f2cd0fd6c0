using ILGPU;

namespace SaeGuard.Sae.Device;

/// <summary>
/// Per-row top-k of positive values into a padded [rows, k] layout (idx, val, count per row),
/// sorted by decreasing value, ties to the lower index (as <see cref="TopK"/> on the CPU).
/// With useMask, only latents with mask[j] ≠ 0 compete (AuxK over the dead ones).
/// </summary>
public static class SelectKernels
{
    public static void TopKRows(Index1D t, ArrayView<float> pre, int m, int k, ArrayView<int> mask, int useMask,
        ArrayView<int> idx, ArrayView<float> val, ArrayView<int> count)
    {
        int rowBase = t * m, outBase = t * k, cnt = 0;
        for (int j = 0; j < m; j++)
        {
            if (useMask != 0 && mask[j] == 0) continue;
            float v = pre[rowBase + j];
            if (!(v > 0f)) continue;
            if (cnt == k && !(v > val[outBase + k - 1])) continue;
            int pos = cnt < k ? cnt : k - 1;
            if (cnt < k) cnt++;
            while (pos > 0 && val[outBase + pos - 1] < v)
            {
                val[outBase + pos] = val[outBase + pos - 1];
                idx[outBase + pos] = idx[outBase + pos - 1];
                pos--;
            }
            val[outBase + pos] = v;
            idx[outBase + pos] = j;
        }
        count[t] = cnt;
        for (int q = cnt; q < k; q++) { idx[outBase + q] = 0; val[outBase + q] = 0f; }
    }
}
