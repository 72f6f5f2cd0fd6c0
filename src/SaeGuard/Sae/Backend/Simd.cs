using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SaeGuard.Sae.Backend;

/// <summary>Small fused vector loops for the sparse kernels (AVX-512 where present, else 256-bit, else scalar).</summary>
static class Simd
{
    /// <summary>y += a·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = y.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            for (; i <= n - 16; i += 16)
                Vector512.StoreUnsafe(Vector512.FusedMultiplyAdd(va, Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512.LoadUnsafe(ref yr, (nuint)i)), ref yr, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i <= n - 8; i += 8)
                Vector256.StoreUnsafe(Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i)), ref yr, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) = MathF.FusedMultiplyAdd(a, Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i));
    }

    /// <summary>Σ x·y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc0 = Vector512<float>.Zero; var acc1 = Vector512<float>.Zero;
            for (; i <= n - 32; i += 32)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512.LoadUnsafe(ref yr, (nuint)i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)(i + 16)), Vector512.LoadUnsafe(ref yr, (nuint)(i + 16)), acc1);
            }
            for (; i <= n - 16; i += 16)
                acc0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512.LoadUnsafe(ref yr, (nuint)i), acc0);
            s = Vector512.Sum(acc0 + acc1);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8)
                acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i), acc);
            s = Vector256.Sum(acc);
        }
        for (; i < n; i++) s = MathF.FusedMultiplyAdd(Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i), s);
        return s;
    }

    /// <summary>
    /// dst (+)= Σ_e coefs[e]·src[rows[e]] over rows of width d, accumulating 8-vector tiles in
    /// registers (one load per FMA instead of load+FMA+store into dst).
    /// </summary>
    public static void AccumulateRows(ReadOnlySpan<int> rows, ReadOnlySpan<float> coefs, float[] src, int d, Span<float> dst, bool add)
    {
        int n = rows.Length, i = 0;
        ref float s0 = ref MemoryMarshal.GetArrayDataReference(src);
        ref float dr = ref MemoryMarshal.GetReference(dst);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= d - 128; i += 128)
            {
                Vector512<float> a0, a1, a2, a3, a4, a5, a6, a7;
                if (add)
                {
                    a0 = Vector512.LoadUnsafe(ref dr, (nuint)i); a1 = Vector512.LoadUnsafe(ref dr, (nuint)(i + 16));
                    a2 = Vector512.LoadUnsafe(ref dr, (nuint)(i + 32)); a3 = Vector512.LoadUnsafe(ref dr, (nuint)(i + 48));
                    a4 = Vector512.LoadUnsafe(ref dr, (nuint)(i + 64)); a5 = Vector512.LoadUnsafe(ref dr, (nuint)(i + 80));
                    a6 = Vector512.LoadUnsafe(ref dr, (nuint)(i + 96)); a7 = Vector512.LoadUnsafe(ref dr, (nuint)(i + 112));
                }
                else a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = Vector512<float>.Zero;
                for (int e = 0; e < n; e++)
                {
                    float c = coefs[e];
                    if (c == 0) continue;
                    var vc = Vector512.Create(c);
                    ref float r = ref Unsafe.Add(ref s0, (nint)rows[e] * d + i);
                    a0 = Vector512.FusedMultiplyAdd(vc, Vector512.LoadUnsafe(ref r), a0);
                    a1 = Vector512.FusedMultiplyAdd(vc, Vector512.LoadUnsafe(ref r, 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(vc, Vector512.LoadUnsafe(ref r, 32), a2);
                    a3 = Vector512.FusedMultiplyAdd(vc, Vector512.LoadUnsafe(ref r, 48), a3);
                    a4 = Vector512.FusedMultiplyAdd(vc, Vector512.LoadUnsafe(ref r, 64), a4);
                    a5 = Vector512.FusedMultiplyAdd(vc, Vector512.LoadUnsafe(ref r, 80), a5);
                    a6 = Vector512.FusedMultiplyAdd(vc, Vector512.LoadUnsafe(ref r, 96), a6);
                    a7 = Vector512.FusedMultiplyAdd(vc, Vector512.LoadUnsafe(ref r, 112), a7);
                }
                a0.StoreUnsafe(ref dr, (nuint)i); a1.StoreUnsafe(ref dr, (nuint)(i + 16));
                a2.StoreUnsafe(ref dr, (nuint)(i + 32)); a3.StoreUnsafe(ref dr, (nuint)(i + 48));
                a4.StoreUnsafe(ref dr, (nuint)(i + 64)); a5.StoreUnsafe(ref dr, (nuint)(i + 80));
                a6.StoreUnsafe(ref dr, (nuint)(i + 96)); a7.StoreUnsafe(ref dr, (nuint)(i + 112));
            }
        }
        if (i == d) return;
        // the remaining columns (or no AVX-512): plain axpy over the tail
        var tail = dst[i..];
        if (!add) tail.Clear();
        for (int e = 0; e < n; e++)
            if (coefs[e] != 0) Axpy(coefs[e], src.AsSpan(rows[e] * d + i, d - i), tail);
    }
}
