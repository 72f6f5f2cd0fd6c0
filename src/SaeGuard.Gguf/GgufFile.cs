using System.Text;
using SaeGuard.Common;

namespace SaeGuard.Gguf;

/// <summary>One tensor's entry in a GGUF header: name, shape (ggml order, ne[0] fastest), type and data offset.</summary>
public sealed record GgufTensorInfo(string Name, long[] Shape, uint Type, long Offset)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>A GGUF array value; its elements are kept only when there are few of them.</summary>
public sealed record GgufArray(GgufValueType ElementType, long Count, object[]? Values);

public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>
/// The header of a GGUF file (version 2 or 3): metadata and tensor table, validated against the file
/// size so that a non-GGUF or truncated file is reported by name before llama.cpp sees it.
/// </summary>
public sealed class GgufFile
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    const int KeepArrayValues = 1 << 16;

    public string Path { get; }
    public uint Version { get; }
    public IReadOnlyDictionary<string, object> Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public long DataOffset { get; }
    public long FileLength { get; }

    GgufFile(string path, uint version, Dictionary<string, object> meta, List<GgufTensorInfo> tensors, long dataOffset, long length)
    {
        Path = path; Version = version; Metadata = meta; Tensors = tensors; DataOffset = dataOffset; FileLength = length;
    }

    public string Architecture => GetString("general.architecture")
        ?? throw new UserError($"'{Path}' has no general.architecture in its GGUF metadata.");

    public string? GetString(string key) => Metadata.TryGetValue(key, out var v) ? v as string : null;

    public long? GetInt(string key) => Metadata.TryGetValue(key, out var v) ? v switch
    {
        byte b => b, sbyte sb => sb, ushort us => us, short s => s, uint ui => ui, int i => i, ulong ul => (long)ul, long l => l,
        GgufArray { Values: { Length: > 0 } vals } => Convert.ToInt64(vals[0]),
        _ => null,
    } : null;

    /// <summary>An architecture-scoped integer such as "{arch}.block_count".</summary>
    public long? GetArchInt(string suffix) => GetInt($"{Architecture}.{suffix}");

    public static GgufFile Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Model not found: '{path}'.");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long length = fs.Length;
        var r = new BinaryReader(fs, Encoding.UTF8);
        try
        {
            if (length < 4 || r.ReadUInt32() != Magic)
                throw new UserError($"'{path}' is not a GGUF file: it does not start with the bytes 'GGUF'.");
            uint version = r.ReadUInt32();
            if (version is < 2 or > 3)
                throw new UserError($"'{path}' is GGUF version {version}; versions 2 and 3 are supported.");
            // each tensor record takes at least 24 bytes and each metadata entry 13, so the counts are bounded by the file
            long nTensors = CheckedCount(r.ReadInt64(), path, "tensor count", length / 24);
            long nKv = CheckedCount(r.ReadInt64(), path, "metadata count", length / 13);
            var meta = new Dictionary<string, object>(StringComparer.Ordinal);
            for (long i = 0; i < nKv; i++)
            {
                string key = ReadString(r, path, length);
                var type = (GgufValueType)r.ReadUInt32();
                meta[key] = ReadValue(r, type, path, length);
            }
            var tensors = new List<GgufTensorInfo>((int)nTensors);
            for (long i = 0; i < nTensors; i++)
            {
                string name = ReadString(r, path, length);
                uint nDims = r.ReadUInt32();
                if (nDims is 0 or > 4) throw new UserError($"'{path}': tensor '{name}' has {nDims} dimensions (1 to 4 expected); the file is damaged.");
                var shape = new long[nDims];
                for (int d = 0; d < nDims; d++) shape[d] = CheckedCount(r.ReadInt64(), path, $"dimension of tensor '{name}'", long.MaxValue);
                long elements = 1;
                foreach (var dim in shape)
                    if (dim != 0 && elements > long.MaxValue / 16 / dim) throw new UserError($"'{path}': tensor '{name}' has {string.Join("×", shape)} elements, more than any file holds; the file is damaged.");
                    else elements *= dim;
                uint type = r.ReadUInt32();
                long offset = r.ReadInt64();
                tensors.Add(new GgufTensorInfo(name, shape, type, offset));
            }
            long alignment = meta.TryGetValue("general.alignment", out var a) && a is uint ua && ua > 0 ? ua : 32;
            long dataOffset = (fs.Position + alignment - 1) / alignment * alignment;
            var file = new GgufFile(path, version, meta, tensors, dataOffset, length);
            file.CheckTensorsFit();
            return file;
        }
        catch (EndOfStreamException)
        {
            throw new UserError($"'{path}' is truncated: its GGUF header ends early ({length:N0} bytes in the file).");
        }
    }

    void CheckTensorsFit()
    {
        foreach (var t in Tensors)
        {
            var bytes = GgmlTypes.ByteCount(t.Type, t.Elements);
            if (bytes == null) continue;
            long end = DataOffset + t.Offset + bytes.Value;
            if (t.Offset < 0 || end > FileLength)
                throw new UserError($"'{Path}' is truncated: tensor '{t.Name}' needs bytes up to {end:N0} but the file has {FileLength:N0}.");
        }
    }

    static long CheckedCount(long n, string path, string what, long limit)
    {
        if (n < 0 || n > limit) throw new UserError($"'{path}': the GGUF {what} is {n}, which does not fit the file; it is damaged or not GGUF.");
        return n;
    }

    static string ReadString(BinaryReader r, string path, long length)
    {
        long n = CheckedCount(r.ReadInt64(), path, "string length", length - r.BaseStream.Position);
        var bytes = r.ReadBytes((int)n);
        if (bytes.Length != n) throw new EndOfStreamException();
        return Encoding.UTF8.GetString(bytes);
    }

    static object ReadValue(BinaryReader r, GgufValueType type, string path, long length) => type switch
    {
        GgufValueType.UInt8 => r.ReadByte(),
        GgufValueType.Int8 => r.ReadSByte(),
        GgufValueType.UInt16 => r.ReadUInt16(),
        GgufValueType.Int16 => r.ReadInt16(),
        GgufValueType.UInt32 => r.ReadUInt32(),
        GgufValueType.Int32 => r.ReadInt32(),
        GgufValueType.Float32 => r.ReadSingle(),
        GgufValueType.Bool => r.ReadByte() != 0,
        GgufValueType.String => ReadString(r, path, length),
        GgufValueType.UInt64 => r.ReadUInt64(),
        GgufValueType.Int64 => r.ReadInt64(),
        GgufValueType.Float64 => r.ReadDouble(),
        GgufValueType.Array => ReadArray(r, path, length),
        _ => throw new UserError($"'{path}' has a metadata value of unknown GGUF type {(uint)type}; the file is damaged or not GGUF."),
    };

    static GgufArray ReadArray(BinaryReader r, string path, long length)
    {
        var et = (GgufValueType)r.ReadUInt32();
        long n = CheckedCount(r.ReadInt64(), path, "array length", length);
        if (et == GgufValueType.Array) throw new UserError($"'{path}' has a nested GGUF array, which is not supported.");
        object[]? values = n <= KeepArrayValues ? new object[n] : null;
        int fixedSize = FixedSize(et);
        if (values == null && fixedSize > 0)
        {
            if (n * fixedSize > length - r.BaseStream.Position) throw new EndOfStreamException();
            r.BaseStream.Seek(n * fixedSize, SeekOrigin.Current);
            return new GgufArray(et, n, null);
        }
        for (long i = 0; i < n; i++)
        {
            var v = ReadValue(r, et, path, length);
            if (values != null) values[i] = v;
        }
        return new GgufArray(et, n, values);
    }

    static int FixedSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };
}
