using System.Runtime.InteropServices;
using SaeGuard.IO;

namespace SaeGuard.Interop;

/// <summary>
/// The [rows, width] matrix of one foreign chunk read front to back a block at a time, converted to
/// float32 into the caller's buffer: memory is one block whatever the chunk's size.
/// </summary>
abstract class ForeignChunkRows : IDisposable
{
    long _read;
    public long Rows { get; }
    public int Width { get; }

    protected ForeignChunkRows(long rows, int width) { Rows = rows; Width = width; }

    /// <summary>The next <paramref name="rows"/> rows into <paramref name="dst"/>.</summary>
    public void ReadNext(int rows, Span<float> dst)
    {
        if (_read + rows > Rows) throw new InvalidOperationException($"read past the chunk's {Rows} rows.");
        ReadRows(_read, rows, dst[..checked(rows * Width)]);
        _read += rows;
    }

    protected abstract void ReadRows(long row0, int rows, Span<float> dst);

    public virtual void Dispose() { }
}

/// <summary>Rows as raw elements in a stream: a .npy file after its header, an .npz member (inflating), a .pt storage.</summary>
sealed class StreamChunkRows : ForeignChunkRows
{
    readonly Stream _s;
    readonly DType _dtype;
    readonly bool _bigEndian;
    readonly int _es;
    byte[] _raw = Array.Empty<byte>();

    public StreamChunkRows(Stream s, DType dtype, bool bigEndian, long rows, int width) : base(rows, width)
    {
        _s = s; _dtype = dtype; _bigEndian = bigEndian; _es = DTypes.Size(dtype);
    }

    protected override void ReadRows(long row0, int rows, Span<float> dst)
    {
        if (_dtype == DType.F32 && !_bigEndian) { _s.ReadExactly(MemoryMarshal.AsBytes(dst)); return; }
        int bytes = dst.Length * _es;
        if (_raw.Length < bytes) _raw = new byte[bytes];
        var raw = _raw.AsSpan(0, bytes);
        _s.ReadExactly(raw);
        if (_bigEndian) for (int i = 0; i < bytes; i += _es) raw.Slice(i, _es).Reverse();
        DTypes.ToFloat(_dtype, raw, dst);
    }

    public override void Dispose() => _s.Dispose();
}

/// <summary>Rows of a safetensors tensor, read at their offset in the file (no mapping, no whole tensor).</summary>
sealed class SafeTensorsChunkRows : ForeignChunkRows
{
    readonly SafeTensorsReader _r;
    readonly TensorInfo _t;
    readonly int _es;
    byte[] _raw = Array.Empty<byte>();

    public SafeTensorsChunkRows(SafeTensorsReader r, TensorInfo t, long rows, int width) : base(rows, width)
    {
        _r = r; _t = t; _es = DTypes.Size(t.DType);
    }

    protected override void ReadRows(long row0, int rows, Span<float> dst)
    {
        long at = row0 * Width * _es;
        if (_t.DType == DType.F32) { _r.ReadBytes(_t, at, MemoryMarshal.AsBytes(dst)); return; }
        int bytes = dst.Length * _es;
        if (_raw.Length < bytes) _raw = new byte[bytes];
        _r.ReadBytes(_t, at, _raw.AsSpan(0, bytes));
        DTypes.ToFloat(_t.DType, _raw.AsSpan(0, bytes), dst);
    }

    public override void Dispose() => _r.Dispose();
}
