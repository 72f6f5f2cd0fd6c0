using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SaeGuard.Sae;

/// <summary>
/// Top-k selection over one row. Ties go to the lower index. The positive variant skips whole
/// vectors that cannot enter the heap (one compare per 16 values once the heap is full), so a
/// row of thousands of latents costs little more than reading it.
/// </summary>
public static class TopK
{
    /// <summary>Keeps the k largest positive values of <paramref name="v"/> (ties: lower index first), zeroes the rest.</summary>
    public static void KeepTopKPositive(Span<float> v, int k)
    {
        if (k >= v.Length) { TensorPrimitives.Max(v, 0f, v); return; }
        Span<int> idx = k <= 1024 ? stackalloc int[k] : new int[k];
        Span<float> val = k <= 1024 ? stackalloc float[k] : new float[k];
        int n = SelectTopKPositive(v, k, idx, val);
        v.Clear();
        for (int i = 0; i < n; i++) v[idx[i]] = val[i];
    }

    /// <summary>
    /// Indices of the k largest values (a min-heap over one pass); returns how many were found
    /// (min(k, length)). Order of the returned indices is unspecified.
    /// </summary>
    public static int SelectTopK(ReadOnlySpan<float> v, int k, Span<int> outIdx)
    {
        int n = Math.Min(k, v.Length);
        if (n == 0) return 0;
        Span<float> hv = n <= 1024 ? stackalloc float[n] : new float[n];
        Span<int> hi = outIdx[..n];
        int size = 0;
        for (int i = 0; i < v.Length; i++)
        {
            if (size < n) Push(hv, hi, ref size, v[i], i);
            else if (Less(hv[0], hi[0], v[i], i)) ReplaceRoot(hv, hi, n, v[i], i);
        }
        return n;
    }

    /// <summary>
    /// The (at most) k largest strictly positive values of <paramref name="v"/> with their indices;
    /// returns how many (≤ k). Ties go to the lower index. Output order is deterministic, unspecified.
    /// </summary>
    public static int SelectTopKPositive(ReadOnlySpan<float> v, int k, Span<int> idx, Span<float> val)
    {
        float hint = 0;
        return SelectTopKPositive(v, k, idx, val, ref hint);
    }

    /// <summary>
    /// As <see cref="SelectTopKPositive(ReadOnlySpan{float}, int, Span{int}, Span{float})"/>, faster on
    /// many similar rows: <paramref name="hint"/> (a value probably below this row's kth largest,
    /// updated for the next row) lets one vectorised pass count and gather the few candidates above
    /// it, and only those compete. The result does not depend on the hint.
    /// </summary>
    public static int SelectTopKPositive(ReadOnlySpan<float> v, int k, Span<int> idx, Span<float> val, ref float hint)
    {
        if (k <= 0) return 0;
        float t = hint > 0 && float.IsFinite(hint) ? hint : 0f;
        int count;
        while (true)
        {
            count = Backend.Threshold.Count(v, null, t);
            if (count >= k || t == 0) break;
            t = t > 1e-20f ? t * 0.25f : 0f;
        }
        int n;
        if (count > 8 * k + 64)
        {
            // a poor hint (first row): heap over the whole row
            float min = 0f; n = 0;
            HeapScan(v, k, idx, val, ref n, ref min);
        }
        else
        {
            Span<int> ci = count <= 1024 ? stackalloc int[count] : new int[count];
            Span<float> cv = count <= 1024 ? stackalloc float[count] : new float[count];
            Backend.Threshold.Collect(v, null, t, ci, cv);
            n = 0;
            float min = 0f;
            for (int i = 0; i < count; i++) Offer(cv[i], ci[i], k, idx, val, ref n, ref min);
        }
        if (n == k) hint = val[0] * 0.9f;   // the heap root is the kth largest
        else hint = 0f;
        return n;
    }

    static void HeapScan(ReadOnlySpan<float> v, int k, Span<int> idx, Span<float> val, ref int size, ref float min)
    {
        int i = 0, len = v.Length;
        ref float r = ref MemoryMarshal.GetReference(v);
        if (Vector512.IsHardwareAccelerated)
            for (; i <= len - 16; i += 16)
                OfferLanes(v, Vector512.GreaterThan(Vector512.LoadUnsafe(ref r, (nuint)i), Vector512.Create(min)).ExtractMostSignificantBits(), i, k, idx, val, ref size, ref min);
        else if (Vector256.IsHardwareAccelerated)
            for (; i <= len - 8; i += 8)
                OfferLanes(v, Vector256.GreaterThan(Vector256.LoadUnsafe(ref r, (nuint)i), Vector256.Create(min)).ExtractMostSignificantBits(), i, k, idx, val, ref size, ref min);
        for (; i < len; i++) Offer(v[i], i, k, idx, val, ref size, ref min);
    }

    static void OfferLanes(ReadOnlySpan<float> v, ulong mask, int i, int k, Span<int> idx, Span<float> val, ref int size, ref float min)
    {
        while (mask != 0)
        {
            int lane = BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            Offer(v[i + lane], i + lane, k, idx, val, ref size, ref min);
        }
    }

    static void Offer(float x, int i, int k, Span<int> idx, Span<float> val, ref int size, ref float min)
    {
        if (!(x > min)) return;  // re-check: min rises while a vector's lanes are processed
        if (size < k)
        {
            Push(val, idx, ref size, x, i);
            if (size == k) min = val[0];
        }
        else
        {
            ReplaceRoot(val, idx, k, x, i);
            min = val[0];
        }
    }

    static void Push(Span<float> hv, Span<int> hi, ref int size, float x, int i)
    {
        int c = size++;
        hv[c] = x; hi[c] = i;
        while (c > 0)
        {
            int p = (c - 1) >> 1;
            if (!Less(hv[c], hi[c], hv[p], hi[p])) break;
            Swap(hv, hi, c, p); c = p;
        }
    }

    static void ReplaceRoot(Span<float> hv, Span<int> hi, int n, float x, int i)
    {
        hv[0] = x; hi[0] = i;
        int c = 0;
        while (true)
        {
            int l = 2 * c + 1, rr = l + 1, s = c;
            if (l < n && Less(hv[l], hi[l], hv[s], hi[s])) s = l;
            if (rr < n && Less(hv[rr], hi[rr], hv[s], hi[s])) s = rr;
            if (s == c) break;
            Swap(hv, hi, c, s); c = s;
        }
    }

    // a "less" than b: smaller value, or equal value and larger index (so lower indices win ties)
    static bool Less(float av, int ai, float bv, int bi) => av < bv || (av == bv && ai > bi);

    static void Swap(Span<float> hv, Span<int> hi, int a, int b)
    {
        (hv[a], hv[b]) = (hv[b], hv[a]);
        (hi[a], hi[b]) = (hi[b], hi[a]);
    }
}
