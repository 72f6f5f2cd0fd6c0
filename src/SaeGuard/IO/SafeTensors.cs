using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGuard.Common;

namespace SaeGuard.IO;

public enum DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool }

public static class DTypes
{
    public static int Size(DType t) => t switch
    {
        DType.F64 or DType.I64 => 8,
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 or DType.I16 => 2,
        _ => 1,
    };

    public static string SafeName(DType t) => t switch
    {
        DType.F32 => "F32", DType.F16 => "F16", DType.BF16 => "BF16", DType.F64 => "F64",
        DType.I64 => "I64", DType.I32 => "I32", DType.I16 => "I16", DType.I8 => "I8",
        DType.U8 => "U8", DType.Bool => "BOOL", _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static DType? FromSafeName(string s) => s switch
    {
        "F32" => DType.F32, "F16" => DType.F16, "BF16" => DType.BF16, "F64" => DType.F64,
        "I64" => DType.I64, "I32" => DType.I32, "I16" => DType.I16, "I8" => DType.I8,
        "U8" => DType.U8, "BOOL" => DType.Bool, _ => null,
    };

    public static float Bf16ToFloat(ushort v) => BitConverter.Int32BitsToSingle(v << 16);

    public static ushort FloatToBf16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return 0x7FC0;
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>Converts raw little-endian bytes of any numeric dtype into floats.</summary>
    public static void ToFloat(DType t, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (t)
        {
            case DType.F32: MemoryMarshal.Cast<byte, float>(src).CopyTo(dst); break;
            case DType.F16: System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst); break;
            case DType.BF16:
                {
                    var s = MemoryMarshal.Cast<byte, ushort>(src);
                    for (int i = 0; i < s.Length; i++) dst[i] = Bf16ToFloat(s[i]);
                    break;
                }
            case DType.F64: { var s = MemoryMarshal.Cast<byte, double>(src); for (int i = 0; i < s.Length; i++) dst[i] = (float)s[i]; break; }
            case DType.I64: { var s = MemoryMarshal.Cast<byte, long>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case DType.I32: { var s = MemoryMarshal.Cast<byte, int>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case DType.I16: { var s = MemoryMarshal.Cast<byte, short>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case DType.I8: { for (int i = 0; i < src.Length; i++) dst[i] = (sbyte)src[i]; break; }
            case DType.U8: case DType.Bool: { for (int i = 0; i < src.Length; i++) dst[i] = src[i]; break; }
        }
    }
}

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record TensorInfo(string Name, DType DType, long[] Shape, long Begin, long End)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => End - Begin;
}

/// <summary>
/// Reads a safetensors file (https://github.com/huggingface/safetensors format): an 8-byte
/// little-endian header length, a JSON header, then the data. The header is validated before
/// any tensor is read: offsets inside the data, no overlap, dtype × shape = byte length.
/// With <c>memoryMap</c> the file is mapped once and tensors are read (or viewed, see
/// <see cref="GetSpan"/>) from the mapping instead of through read calls.
/// </summary>
public sealed partial class SafeTensorsReader : IDisposable
{
    const long MaxHeader = 100L << 20;
    /// <summary>A header may exceed the data it describes by this much (names, metadata, small files).</summary>
    public const long HeaderSlack = 1L << 20;
    public const int MaxTensors = 250_000, MaxRank = 32;
    readonly FileStream _fs;
    readonly long _dataStart;
    public string Path { get; }
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public SafeTensorsReader(string path) : this(path, memoryMap: false) { }

    public SafeTensorsReader(string path, bool memoryMap)
    {
        Path = path;
        try { _fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess); }
        catch (FileNotFoundException) { throw new UserError($"File not found: '{path}'."); }
        catch (DirectoryNotFoundException) { throw new UserError($"File not found: '{path}'."); }
        try
        {
            (Tensors, Metadata, _dataStart) = ParseHeader(_fs, path);
            if (memoryMap) Map();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or ArgumentException or KeyNotFoundException)
        {
            _fs.Dispose();
            throw new InvalidDataException($"'{path}': malformed safetensors header ({e.Message}).", e);
        }
        catch
        {
            _fs.Dispose();
            throw;
        }
    }

    static (Dictionary<string, TensorInfo>, Dictionary<string, string>, long) ParseHeader(FileStream fs, string path)
    {
        long fileLen = fs.Length;
        if (fileLen < 8) throw new InvalidDataException($"'{path}' is not a safetensors file: {fileLen} bytes, shorter than the 8-byte header length.");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        long hlen = BinaryPrimitives.ReadInt64LittleEndian(lenBytes);
        if (hlen <= 0 || hlen > MaxHeader || 8 + hlen > fileLen)
            throw new InvalidDataException($"'{path}' is not a valid safetensors file: header length {hlen} does not fit the file ({fileLen} bytes).");
        long dataBytes = fileLen - 8 - hlen;
        if (hlen > dataBytes + HeaderSlack)
            throw new InvalidDataException($"'{path}': the safetensors header ({hlen:N0} bytes) is larger than the {dataBytes:N0} bytes of data it describes " +
                                           $"(limit: data + {HeaderSlack:N0} bytes); refused unparsed.");
        var header = new byte[hlen];
        fs.ReadExactly(header);
        JsonNode? root;
        try { root = JsonNode.Parse(header); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}': safetensors header is not valid JSON ({e.Message})."); }
        if (root is not JsonObject obj) throw new InvalidDataException($"'{path}': safetensors header is not a JSON object.");
        long dataLen = fileLen - 8 - hlen;
        var tensors = new Dictionary<string, TensorInfo>();
        var meta = new Dictionary<string, string>();
        if (obj.Count > MaxTensors + 1)
            throw new InvalidDataException($"'{path}': the safetensors header lists {obj.Count:N0} entries, more than the limit of {MaxTensors:N0} tensors.");
        foreach (var (name, node) in obj)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject m)
                    foreach (var (k, v) in m) meta[k] = v?.ToString() ?? "";
                continue;
            }
            if (node is not JsonObject t) throw new InvalidDataException($"'{path}': tensor '{name}' has no header object.");
            var dtypeName = t["dtype"]?.GetValue<string>() ?? throw new InvalidDataException($"'{path}': tensor '{name}' has no dtype.");
            var dtype = DTypes.FromSafeName(dtypeName) ?? throw new InvalidDataException($"'{path}': tensor '{name}' has unsupported dtype '{dtypeName}'.");
            if (t["shape"] is not JsonArray shapeArr || t["data_offsets"] is not JsonArray offs || offs.Count != 2)
                throw new InvalidDataException($"'{path}': tensor '{name}' needs 'shape' and two 'data_offsets'.");
            long[] shape;
            long begin, end;
            try
            {
                shape = shapeArr.Select(x => x!.GetValue<long>()).ToArray();
                begin = offs[0]!.GetValue<long>();
                end = offs[1]!.GetValue<long>();
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
            {
                throw new InvalidDataException($"'{path}': tensor '{name}' has a malformed shape or offsets.");
            }
            if (shape.Length > MaxRank) throw new InvalidDataException($"'{path}': tensor '{name}' has {shape.Length} dimensions, more than the limit of {MaxRank}.");
            if (shape.Any(s => s < 0)) throw new InvalidDataException($"'{path}': tensor '{name}' has a negative dimension.");
            if (begin < 0 || end < begin || end > dataLen)
                throw new InvalidDataException($"'{path}': tensor '{name}' offsets [{begin}, {end}) fall outside the data section ({dataLen} bytes).");
            long elems = 1;
            foreach (var s in shape) { elems = checked(elems * s); }
            if (checked(elems * DTypes.Size(dtype)) != end - begin)
                throw new InvalidDataException($"'{path}': tensor '{name}' is {dtypeName}[{string.Join(",", shape)}] = {elems * DTypes.Size(dtype)} bytes but its offsets span {end - begin}.");
            tensors[name] = new TensorInfo(name, dtype, shape, begin, end);
        }
        var sorted = tensors.Values.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Begin < sorted[i - 1].End)
                throw new InvalidDataException($"'{path}': tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap.");
        return (tensors, meta, 8 + hlen);
    }

    public TensorInfo Get(string name) =>
        Tensors.TryGetValue(name, out var t) ? t
            : throw new InvalidDataException($"'{Path}' has no tensor '{name}' (it has: {string.Join(", ", Tensors.Keys)}).");

    public byte[] ReadBytes(string name)
    {
        var t = Get(name);
        var buf = new byte[t.ByteLength];
        ReadExactlyAt(_dataStart + t.Begin, buf);
        return buf;
    }

    public void ReadBytes(TensorInfo t, long byteOffset, Span<byte> dst) =>
        ReadExactlyAt(_dataStart + t.Begin + byteOffset, dst);

    void ReadExactlyAt(long offset, Span<byte> dst)
    {
        if (TryReadMapped(offset, dst)) return;
        while (dst.Length > 0)
        {
            int n = RandomAccess.Read(_fs.SafeFileHandle, dst, offset);
            if (n <= 0) throw new InvalidDataException($"'{Path}' is truncated.");
            dst = dst[n..]; offset += n;
        }
    }

    /// <summary>The whole tensor as float32 (converted from its dtype).</summary>
    public float[] ReadFloats(string name)
    {
        var t = Get(name);
        var dst = new float[t.Elements];
        if (t.DType == DType.F32)
        {
            ReadExactlyAt(_dataStart + t.Begin, MemoryMarshal.AsBytes(dst.AsSpan()));
            return dst;
        }
        // other dtypes: convert in 1M-element pieces instead of holding all raw bytes at once
        int es = DTypes.Size(t.DType);
        var raw = new byte[(int)Math.Min(t.ByteLength, (1 << 20) * es)];
        for (long e0 = 0; e0 < dst.LongLength; e0 += raw.Length / es)
        {
            int n = (int)Math.Min(raw.Length / es, dst.LongLength - e0);
            ReadExactlyAt(_dataStart + t.Begin + e0 * es, raw.AsSpan(0, n * es));
            DTypes.ToFloat(t.DType, raw.AsSpan(0, n * es), dst.AsSpan((int)e0, n));
        }
        return dst;
    }

    /// <summary>Rows [row0, row0+rows) of a 2-D (or higher) tensor as float32.</summary>
    public void ReadFloatRows(string name, long row0, int rows, Span<float> dst)
    {
        var t = Get(name);
        long rowElems = t.Shape.Length == 0 ? 1 : t.Elements / Math.Max(1, t.Shape[0]);
        int es = DTypes.Size(t.DType);
        var raw = new byte[rows * rowElems * es];
        ReadBytes(t, row0 * rowElems * es, raw);
        DTypes.ToFloat(t.DType, raw, dst[..(int)(rows * rowElems)]);
    }

    public int[] ReadInts(string name)
    {
        var t = Get(name);
        var raw = ReadBytes(name);
        return t.DType switch
        {
            DType.I32 => MemoryMarshal.Cast<byte, int>(raw).ToArray(),
            DType.I64 => MemoryMarshal.Cast<byte, long>(raw).ToArray().Select(v => checked((int)v)).ToArray(),
            DType.U8 or DType.Bool or DType.I8 => raw.Select(b => (int)b).ToArray(),
            DType.I16 => MemoryMarshal.Cast<byte, short>(raw).ToArray().Select(v => (int)v).ToArray(),
            _ => throw new InvalidDataException($"'{Path}': tensor '{name}' is {t.DType}, expected an integer type."),
        };
    }

    public void Dispose()
    {
        Unmap();
        _fs.Dispose();
    }
}

/// <summary>Collects tensors and writes a safetensors file (atomically, via a temp file).</summary>
public sealed partial class SafeTensorsWriter
{
    readonly List<(string Name, DType DType, long[] Shape, byte[] Data)> _tensors = new();
    readonly Dictionary<string, string> _metadata = new();

    public SafeTensorsWriter Metadata(string key, string value) { _metadata[key] = value; return this; }

    public SafeTensorsWriter Add(string name, DType dtype, long[] shape, byte[] data)
    {
        long expect = shape.Aggregate(1L, (a, b) => a * b) * DTypes.Size(dtype);
        if (expect != data.Length) throw new ArgumentException($"Tensor '{name}': shape needs {expect} bytes, got {data.Length}.");
        _tensors.Add((name, dtype, shape, data));
        return this;
    }

    public SafeTensorsWriter AddF32(string name, ReadOnlySpan<float> data, params long[] shape) =>
        Add(name, DType.F32, shape, MemoryMarshal.AsBytes(data).ToArray());

    public SafeTensorsWriter AddF16(string name, ReadOnlySpan<float> data, params long[] shape)
    {
        var h = new Half[data.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(data, h);
        return Add(name, DType.F16, shape, MemoryMarshal.AsBytes(h.AsSpan()).ToArray());
    }

    public SafeTensorsWriter AddI32(string name, ReadOnlySpan<int> data, params long[] shape) =>
        Add(name, DType.I32, shape, MemoryMarshal.AsBytes(data).ToArray());

    public SafeTensorsWriter AddU8(string name, ReadOnlySpan<byte> data, params long[] shape) =>
        Add(name, DType.U8, shape, data.ToArray());

    public void Save(string path) => AtomicFile.Write(path, WriteTo);

    public void WriteTo(Stream s)
    {
        var header = new JsonObject();
        if (_metadata.Count > 0)
        {
            var m = new JsonObject();
            foreach (var (k, v) in _metadata) m[k] = v;
            header["__metadata__"] = m;
        }
        long off = 0;
        foreach (var t in _tensors)
        {
            header[t.Name] = new JsonObject
            {
                ["dtype"] = DTypes.SafeName(t.DType),
                ["shape"] = new JsonArray(t.Shape.Select(x => (JsonNode)x).ToArray()),
                ["data_offsets"] = new JsonArray(off, off + t.Data.Length),
            };
            off += t.Data.Length;
        }
        var hb = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - hb.Length % 8) % 8;
        var padded = new byte[hb.Length + pad];
        hb.CopyTo(padded, 0);
        for (int i = hb.Length; i < padded.Length; i++) padded[i] = (byte)' ';
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(len, padded.Length);
        s.Write(len);
        s.Write(padded);
        foreach (var t in _tensors) s.Write(t.Data);
    }
}
