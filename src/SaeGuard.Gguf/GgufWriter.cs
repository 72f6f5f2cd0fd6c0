using System.Text;
using SaeGuard.Common;

namespace SaeGuard.Gguf;

/// <summary>Writes a GGUF v3 file: typed metadata, then F32/F16 tensors aligned to 32 bytes.</summary>
public sealed class GgufWriter
{
    const int Alignment = 32;
    readonly List<(string Key, GgufValueType Type, object Value)> _meta = new();
    readonly List<(string Name, long[] Shape, uint Type, byte[] Data)> _tensors = new();

    public GgufWriter Add(string key, string value) => AddRaw(key, GgufValueType.String, value);
    public GgufWriter Add(string key, uint value) => AddRaw(key, GgufValueType.UInt32, value);
    public GgufWriter Add(string key, float value) => AddRaw(key, GgufValueType.Float32, value);
    public GgufWriter Add(string key, bool value) => AddRaw(key, GgufValueType.Bool, value);
    public GgufWriter Add(string key, string[] values) => AddRaw(key, GgufValueType.Array, new GgufArray(GgufValueType.String, values.Length, values));
    public GgufWriter Add(string key, float[] values) => AddRaw(key, GgufValueType.Array, new GgufArray(GgufValueType.Float32, values.Length, values.Cast<object>().ToArray()));
    public GgufWriter Add(string key, int[] values) => AddRaw(key, GgufValueType.Array, new GgufArray(GgufValueType.Int32, values.Length, values.Cast<object>().ToArray()));

    GgufWriter AddRaw(string key, GgufValueType type, object value)
    {
        _meta.Add((key, type, value));
        return this;
    }

    /// <summary>
    /// Adds a tensor given row-major as [rows, cols] (GGUF shape [cols, rows], ne[0] = cols),
    /// or 1-D when <paramref name="rows"/> is 1. Stored as F16 when <paramref name="f16"/>.
    /// </summary>
    public GgufWriter AddTensor(string name, float[] data, int rows, int cols, bool f16 = false)
    {
        if (data.Length != (long)rows * cols) throw new ArgumentException($"tensor {name}: {data.Length} values for [{rows}, {cols}]");
        long[] shape = rows == 1 ? new long[] { cols } : new long[] { cols, rows };
        byte[] bytes;
        if (f16)
        {
            bytes = new byte[data.Length * 2];
            var span = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
            for (int i = 0; i < data.Length; i++) span[i] = (Half)data[i];
        }
        else
        {
            bytes = new byte[data.Length * 4];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        }
        _tensors.Add((name, shape, f16 ? GgmlTypes.F16 : GgmlTypes.F32, bytes));
        return this;
    }

    public void Save(string path) => AtomicFile.Write(path, Write);

    public void Write(Stream s)
    {
        using var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufFile.Magic);
        w.Write(3u);
        w.Write((long)_tensors.Count);
        w.Write((long)_meta.Count);
        foreach (var (key, type, value) in _meta)
        {
            WriteString(w, key);
            w.Write((uint)type);
            WriteValue(w, type, value);
        }
        long offset = 0;
        foreach (var t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            foreach (var d in t.Shape) w.Write(d);
            w.Write(t.Type);
            w.Write(offset);
            offset = Align(offset + t.Data.Length);
        }
        w.Flush();
        Pad(w, s.Position);
        foreach (var t in _tensors)
        {
            w.Write(t.Data);
            Pad(w, t.Data.Length);
        }
    }

    static long Align(long n) => (n + Alignment - 1) / Alignment * Alignment;

    static void Pad(BinaryWriter w, long written)
    {
        for (long i = written; i < Align(written); i++) w.Write((byte)0);
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((long)b.Length);
        w.Write(b);
    }

    static void WriteValue(BinaryWriter w, GgufValueType type, object v)
    {
        switch (type)
        {
            case GgufValueType.String: WriteString(w, (string)v); break;
            case GgufValueType.UInt32: w.Write((uint)v); break;
            case GgufValueType.Int32: w.Write((int)v); break;
            case GgufValueType.Float32: w.Write((float)v); break;
            case GgufValueType.Bool: w.Write((bool)v ? (byte)1 : (byte)0); break;
            case GgufValueType.Array:
                var a = (GgufArray)v;
                w.Write((uint)a.ElementType);
                w.Write(a.Count);
                foreach (var e in a.Values!) WriteValue(w, a.ElementType, e);
                break;
            default: throw new ArgumentException($"unsupported GGUF value type {type}");
        }
    }
}
