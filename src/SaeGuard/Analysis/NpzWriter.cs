using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using SaeGuard.Common;

namespace SaeGuard.Analysis;

/// <summary>
/// Writes a numpy .npz: a zip of .npy v1.0 files (little-endian, C order), readable with
/// <c>numpy.load</c>. Supported element types: float32 (&lt;f4), float64 (&lt;f8), int32 (&lt;i4), int64 (&lt;i8).
/// Minimal on purpose (the interop module owns general numpy I/O).
/// </summary>
public sealed class NpzWriter
{
    readonly List<(string Name, string Descr, long[] Shape, byte[] Data)> _arrays = new();

    public NpzWriter Add(string name, float[] data, params long[] shape) => Add(name, "<f4", MemoryMarshal.AsBytes(data.AsSpan()), shape, data.Length);
    public NpzWriter Add(string name, double[] data, params long[] shape) => Add(name, "<f8", MemoryMarshal.AsBytes(data.AsSpan()), shape, data.Length);
    public NpzWriter Add(string name, int[] data, params long[] shape) => Add(name, "<i4", MemoryMarshal.AsBytes(data.AsSpan()), shape, data.Length);
    public NpzWriter Add(string name, long[] data, params long[] shape) => Add(name, "<i8", MemoryMarshal.AsBytes(data.AsSpan()), shape, data.Length);

    NpzWriter Add(string name, string descr, ReadOnlySpan<byte> bytes, long[] shape, long count)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("NpzWriter writes little-endian data only.");
        if (shape.Length == 0) shape = new[] { count };
        if (shape.Aggregate(1L, (a, b) => a * b) != count)
            throw new ArgumentException($"'{name}': shape [{string.Join(",", shape)}] does not hold {count} values.");
        if (_arrays.Any(a => a.Name == name)) throw new ArgumentException($"'{name}' was already added.");
        _arrays.Add((name, descr, shape, bytes.ToArray()));
        return this;
    }

    /// <summary>The .npy v1.0 header: magic, version, header length, dict padded with spaces to a multiple of 64 bytes.</summary>
    public static byte[] NpyHeader(string descr, long[] shape)
    {
        string shp = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shp}, }}";
        int unpadded = 10 + dict.Length + 1;
        int total = (unpadded + 63) / 64 * 64;
        var header = dict + new string(' ', total - unpadded) + "\n";
        if (header.Length > ushort.MaxValue) throw new ArgumentException("npy header too long for format 1.0");
        var bytes = new byte[10 + header.Length];
        bytes[0] = 0x93; Encoding.ASCII.GetBytes("NUMPY", bytes.AsSpan(1));
        bytes[6] = 1; bytes[7] = 0;
        BitConverter.TryWriteBytes(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        return bytes;
    }

    public void WriteTo(Stream s)
    {
        using var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, descr, shape, data) in _arrays)
        {
            var entry = zip.CreateEntry(name + ".npy", CompressionLevel.Fastest);
            using var es = entry.Open();
            es.Write(NpyHeader(descr, shape));
            es.Write(data);
        }
    }

    public void Save(string path) => AtomicFile.Write(path, WriteTo);
}
