using System.Runtime.InteropServices;

namespace SaeGuard.IO;

/// <summary>
/// An n-dimensional array read from a foreign file (npy, safetensors, torch): its element type,
/// logical shape, and conversions to C-order (row-major) managed arrays.
/// </summary>
public interface ITensorData
{
    DType DType { get; }
    long[] Shape { get; }
    /// <summary>The elements as little-endian bytes in C order.</summary>
    byte[] ToContiguousBytes();
}

public static class TensorDataExtensions
{
    public static long Elements(this ITensorData t) => ShapeMath.Elements(t.Shape);

    public static float[] ToFloat32(this ITensorData t)
    {
        var raw = t.ToContiguousBytes();
        var dst = GC.AllocateUninitializedArray<float>(raw.Length / DTypes.Size(t.DType));
        DTypes.ToFloat(t.DType, raw, dst);
        return dst;
    }

    /// <summary>Exact for every dtype except 64-bit integers beyond 2^53.</summary>
    public static double[] ToFloat64(this ITensorData t)
    {
        var raw = t.ToContiguousBytes();
        if (t.DType == DType.F64) return MemoryMarshal.Cast<byte, double>(raw).ToArray();
        if (t.DType == DType.I64) return MemoryMarshal.Cast<byte, long>(raw).ToArray().Select(v => (double)v).ToArray();
        if (t.DType == DType.I32) return MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => (double)v).ToArray();
        var f = new float[raw.Length / DTypes.Size(t.DType)];
        DTypes.ToFloat(t.DType, raw, f);
        return f.Select(v => (double)v).ToArray();
    }

    /// <summary>Integer and bool tensors as int64 (floats are refused: no silent truncation).</summary>
    public static long[] ToInt64(this ITensorData t)
    {
        var raw = t.ToContiguousBytes();
        return t.DType switch
        {
            DType.I64 => MemoryMarshal.Cast<byte, long>(raw).ToArray(),
            DType.I32 => MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => (long)v).ToArray(),
            DType.I16 => MemoryMarshal.Cast<byte, short>(raw).ToArray().Select(v => (long)v).ToArray(),
            DType.I8 => raw.Select(b => (long)(sbyte)b).ToArray(),
            DType.U8 or DType.Bool => raw.Select(b => (long)b).ToArray(),
            _ => throw new InvalidDataException($"a {t.DType} tensor cannot be read as integers."),
        };
    }

    public static bool[] ToBool(this ITensorData t) =>
        t.DType is DType.Bool or DType.U8 ? t.ToContiguousBytes().Select(b => b != 0).ToArray()
            : throw new InvalidDataException($"a {t.DType} tensor cannot be read as booleans.");

    /// <summary>A single number from a 0-d or one-element tensor.</summary>
    public static double Scalar(this ITensorData t) =>
        t.Elements() == 1 ? t.ToFloat64()[0] : throw new InvalidDataException($"expected a one-element tensor, got shape [{string.Join(",", t.Shape)}].");

    public static string ShapeText(this ITensorData t) => "[" + string.Join(",", t.Shape) + "]";
}

/// <summary>A tensor held as C-order bytes (what safetensors stores, and what readers normalise to).</summary>
public sealed class DenseTensor : ITensorData
{
    public DType DType { get; }
    public long[] Shape { get; }
    public byte[] Data { get; }

    public DenseTensor(DType dtype, long[] shape, byte[] data)
    {
        long bytes = checked(ShapeMath.Elements(shape) * DTypes.Size(dtype));
        if (bytes != data.Length) throw new ArgumentException($"shape [{string.Join(",", shape)}] of {dtype} needs {bytes} bytes, got {data.Length}.");
        DType = dtype; Shape = shape; Data = data;
    }

    public static DenseTensor FromFloat32(float[] values, params long[] shape) =>
        new(DType.F32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static DenseTensor FromFloat64(double[] values, params long[] shape) =>
        new(DType.F64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static DenseTensor FromInt64(long[] values, params long[] shape) =>
        new(DType.I64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static DenseTensor FromInt32(int[] values, params long[] shape) =>
        new(DType.I32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static DenseTensor FromBool(bool[] values, params long[] shape) =>
        new(DType.Bool, shape, values.Select(b => b ? (byte)1 : (byte)0).ToArray());

    public byte[] ToContiguousBytes() => Data;
}

/// <summary>Element counts and strided gathers, with overflow checks (shapes come from untrusted headers).</summary>
public static class ShapeMath
{
    public static long Elements(long[] shape)
    {
        long n = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new InvalidDataException($"negative dimension in shape [{string.Join(",", shape)}].");
            n = checked(n * s);
        }
        return n;
    }

    /// <summary>Elements × element size, refused when it overflows or exceeds what one array can hold.</summary>
    public static long ByteLength(long[] shape, DType dtype, string what)
    {
        try
        {
            long bytes = checked(Elements(shape) * DTypes.Size(dtype));
            if (bytes > Array.MaxLength)
                throw new InvalidDataException($"{what}: {bytes:N0} bytes is more than one in-memory array can hold ({Array.MaxLength:N0}); split it into chunks.");
            return bytes;
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{what}: shape [{string.Join(",", shape)}] overflows.");
        }
    }

    /// <summary>
    /// Copies a strided view (element strides, element offset) of <paramref name="storage"/> into
    /// C order. The caller has checked that every index lies inside the storage.
    /// </summary>
    public static byte[] Gather(ReadOnlySpan<byte> storage, int elemSize, long offset, long[] shape, long[] strides)
    {
        long n = Elements(shape);
        var dst = GC.AllocateUninitializedArray<byte>((int)(n * elemSize));
        if (n == 0) return dst;
        int nd = shape.Length;
        if (IsCContiguous(shape, strides))
        {
            storage.Slice((int)(offset * elemSize), dst.Length).CopyTo(dst);
            return dst;
        }
        var idx = new long[nd];
        long src = offset;
        for (long i = 0; i < n; i++)
        {
            storage.Slice((int)(src * elemSize), elemSize).CopyTo(dst.AsSpan((int)(i * elemSize), elemSize));
            for (int d = nd - 1; d >= 0; d--)
            {
                idx[d]++;
                src += strides[d];
                if (idx[d] < shape[d]) break;
                src -= strides[d] * shape[d];
                idx[d] = 0;
            }
        }
        return dst;
    }

    public static bool IsCContiguous(long[] shape, long[] strides)
    {
        long expect = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && strides[d] != expect) return false;
            expect *= shape[d];
        }
        return true;
    }

    public static long[] CStrides(long[] shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { s[d] = acc; acc *= shape[d]; }
        return s;
    }

    public static long[] FortranStrides(long[] shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int d = 0; d < shape.Length; d++) { s[d] = acc; acc *= shape[d]; }
        return s;
    }
}
