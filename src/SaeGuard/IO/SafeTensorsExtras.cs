using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace SaeGuard.IO;

public sealed partial class SafeTensorsReader
{
    MemoryMappedFile? _map;
    MemoryMappedViewAccessor? _view;
    unsafe byte* _base;

    /// <summary>Opens <paramref name="path"/> memory-mapped (for large files read piecewise or viewed in place).</summary>
    public static SafeTensorsReader OpenMapped(string path) => new(path, memoryMap: true);

    public bool IsMemoryMapped => _view != null;

    unsafe void Map()
    {
        _map = MemoryMappedFile.CreateFromFile(_fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
    }

    unsafe void Unmap()
    {
        if (_view == null) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _base = null;
        _view.Dispose(); _view = null;
        _map?.Dispose(); _map = null;
    }

    unsafe bool TryReadMapped(long offset, Span<byte> dst)
    {
        if (_view == null) return false;
        if (offset < 0 || offset + dst.Length > _fs.Length) throw new InvalidDataException($"'{Path}' is truncated.");
        new ReadOnlySpan<byte>(_base + offset, dst.Length).CopyTo(dst);
        return true;
    }

    /// <summary>
    /// A tensor's bytes viewed in place in the mapping (no copy). Needs a reader opened with
    /// memoryMap; valid until the reader is disposed; tensors over 2 GiB must be read piecewise.
    /// </summary>
    public unsafe ReadOnlySpan<byte> GetSpan(string name)
    {
        var t = Get(name);
        if (_view == null) throw new InvalidOperationException($"'{Path}' was not opened memory-mapped.");
        if (t.ByteLength > int.MaxValue) throw new InvalidDataException($"'{Path}': tensor '{name}' is {t.ByteLength:N0} bytes, too large for one span; read it in rows.");
        return new ReadOnlySpan<byte>(_base + _dataStart + t.Begin, (int)t.ByteLength);
    }

    /// <summary>The whole tensor with its dtype and shape (C order, as stored).</summary>
    public DenseTensor ReadTensor(string name)
    {
        var t = Get(name);
        ShapeMath.ByteLength(t.Shape, t.DType, $"'{Path}': tensor '{name}'");
        return new DenseTensor(t.DType, t.Shape, ReadBytes(name));
    }
}

public sealed partial class SafeTensorsWriter
{
    public SafeTensorsWriter AddBF16(string name, ReadOnlySpan<float> data, params long[] shape)
    {
        var h = new ushort[data.Length];
        for (int i = 0; i < h.Length; i++) h[i] = DTypes.FloatToBf16(data[i]);
        return Add(name, DType.BF16, shape, MemoryMarshal.AsBytes(h.AsSpan()).ToArray());
    }

    public SafeTensorsWriter AddF64(string name, ReadOnlySpan<double> data, params long[] shape) =>
        Add(name, DType.F64, shape, MemoryMarshal.AsBytes(data).ToArray());

    public SafeTensorsWriter AddI64(string name, ReadOnlySpan<long> data, params long[] shape) =>
        Add(name, DType.I64, shape, MemoryMarshal.AsBytes(data).ToArray());

    public SafeTensorsWriter AddBool(string name, ReadOnlySpan<bool> data, params long[] shape)
    {
        var b = new byte[data.Length];
        for (int i = 0; i < b.Length; i++) b[i] = data[i] ? (byte)1 : (byte)0;
        return Add(name, DType.Bool, shape, b);
    }

    /// <summary>Adds any foreign tensor (npy, torch, safetensors) with its dtype and shape.</summary>
    public SafeTensorsWriter Add(string name, ITensorData tensor) =>
        Add(name, tensor.DType, tensor.Shape, tensor.ToContiguousBytes());
}
