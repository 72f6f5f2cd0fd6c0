using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SaeGuard.Sae.Backend;

/// <summary>Vectorised "values above a threshold" scans and a quickselect, for the threshold-based architectures.</summary>
static class Threshold
{
    /// <summary>How many v[j] &gt; thresholds[j] (or &gt; t when thresholds is null).</summary>
    public static int Count(ReadOnlySpan<float> v, float[]? thresholds, float t)
    {
        int n = v.Length, i = 0, count = 0;
        ref float r = ref MemoryMarshal.GetReference(v);
        if (Vector512.IsHardwareAccelerated)
        {
            var vt = Vector512.Create(t);
            if (thresholds == null)
                for (; i <= n - 16; i += 16) count += BitOperations.PopCount(Vector512.GreaterThan(Vector512.LoadUnsafe(ref r, (nuint)i), vt).ExtractMostSignificantBits());
            else
            {
                ref float tr = ref MemoryMarshal.GetArrayDataReference(thresholds);
                for (; i <= n - 16; i += 16) count += BitOperations.PopCount(Vector512.GreaterThan(Vector512.LoadUnsafe(ref r, (nuint)i), Vector512.LoadUnsafe(ref tr, (nuint)i)).ExtractMostSignificantBits());
            }
        }
        for (; i < n; i++) if (v[i] > (thresholds != null ? thresholds[i] : t)) count++;
        return count;
    }

    /// <summary>Writes the indices and values counted by <see cref="Count"/> in index order.</summary>
    public static void Collect(ReadOnlySpan<float> v, float[]? thresholds, float t, Span<int> idx, Span<float> val)
    {
        int n = v.Length, i = 0, o = 0;
        ref float r = ref MemoryMarshal.GetReference(v);
        if (Vector512.IsHardwareAccelerated)
        {
            if (thresholds == null)
            {
                var vt = Vector512.Create(t);
                for (; i <= n - 16; i += 16)
                {
                    ulong mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref r, (nuint)i), vt).ExtractMostSignificantBits();
                    if (mask != 0) o = Emit(v, mask, i, idx, val, o);
                }
            }
            else
            {
                ref float tr = ref MemoryMarshal.GetArrayDataReference(thresholds);
                for (; i <= n - 16; i += 16)
                {
                    ulong mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref r, (nuint)i), Vector512.LoadUnsafe(ref tr, (nuint)i)).ExtractMostSignificantBits();
                    if (mask != 0) o = Emit(v, mask, i, idx, val, o);
                }
            }
        }
        for (; i < n; i++)
            if (v[i] > (thresholds != null ? thresholds[i] : t)) { idx[o] = i; val[o] = v[i]; o++; }
    }

    static int Emit(ReadOnlySpan<float> v, ulong mask, int i, Span<int> idx, Span<float> val, int o)
    {
        do
        {
            int lane = BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            idx[o] = i + lane; val[o] = v[i + lane]; o++;
        } while (mask != 0);
        return o;
    }

    /// <summary>The value of rank <paramref name="rank"/> (0 = smallest) of a[0..n), reordering it (quickselect, deterministic pivots).</summary>
    public static float Select(float[] a, int n, int rank)
    {
        int lo = 0, hi = n - 1;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            // median of three as pivot
            float x = a[lo], y = a[mid], z = a[hi];
            float pivot = Math.Max(Math.Min(x, y), Math.Min(Math.Max(x, y), z));
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) { (a[i], a[j]) = (a[j], a[i]); i++; j--; }
            }
            if (rank <= j) hi = j;
            else if (rank >= i) lo = i;
            else return a[rank];
        }
        return a[rank];
    }
}
