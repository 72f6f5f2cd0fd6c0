using System.Runtime.InteropServices;
using SaeGuard.IO;

namespace SaeGuard.Interop;

/// <summary>
/// Rows of a little-endian, C-order 2-D .npy chunk read a block at a time straight from the file
/// (no whole-chunk array, no second copy): memory stays one block whatever the chunk's size.
/// </summary>
sealed class ForeignNpyRows : IDisposable
{
    readonly FileStream _fs;
    readonly long _dataOffset;
    readonly int _es;
    byte[] _raw = Array.Empty<byte>();
    public DType DType { get; }
    public long Rows { get; }
    public int Width { get; }

    ForeignNpyRows(FileStream fs, DType dtype, long rows, int width, long dataOffset)
    {
        _fs = fs; DType = dtype; Rows = rows; Width = width; _dataOffset = dataOffset; _es = DTypes.Size(dtype);
    }

    /// <summary>The chunk as rows, or null when its layout needs the general reader (big-endian, Fortran order, ints, 3-D+).</summary>
    public static ForeignNpyRows? TryOpen(string path)
    {
        var (dtype, shape, fortran) = NpyReader.ReadInfo(path);   // validates the header and the data length
        if (fortran || shape.Length != 2 || dtype is not (DType.F32 or DType.F16 or DType.BF16 or DType.F64)) return null;
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var head = new byte[(int)Math.Min(fs.Length, 4096)];
        fs.ReadExactly(head);
        var text = System.Text.Encoding.ASCII.GetString(head);
        if (!text.Contains("'descr': '<") && !text.Contains("\"descr\": \"<")) { fs.Dispose(); return null; }
        long bytes = shape[0] * shape[1] * DTypes.Size(dtype);
        return new ForeignNpyRows(fs, dtype, shape[0], (int)shape[1], fs.Length - bytes);
    }

    /// <summary>Reads rows [row0, row0 + rows) as float32 into <paramref name="dst"/>.</summary>
    public void Read(long row0, int rows, Span<float> dst)
    {
        long count = (long)rows * Width;
        _fs.Position = _dataOffset + row0 * Width * _es;
        if (DType == DType.F32) { _fs.ReadExactly(MemoryMarshal.AsBytes(dst[..(int)count])); return; }
        if (_raw.Length < count * _es) _raw = new byte[count * _es];
        var raw = _raw.AsSpan(0, (int)(count * _es));
        _fs.ReadExactly(raw);
        DTypes.ToFloat(DType, raw, dst[..(int)count]);
    }

    public void Dispose() => _fs.Dispose();
}
