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
}
