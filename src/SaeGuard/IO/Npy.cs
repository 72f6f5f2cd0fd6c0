using System.Buffers.Binary;
using System.Text;

namespace SaeGuard.IO;

/// <summary>
/// An array from a numpy .npy file: dtype, logical shape, memory order and the raw element
/// bytes in file order (little-endian; big-endian files are byte-swapped on read).
/// </summary>
public sealed class NpyArray : ITensorData
{
    public DType DType { get; }
    public long[] Shape { get; }
    public bool FortranOrder { get; }
    /// <summary>Elements as stored: C order, or Fortran order when <see cref="FortranOrder"/>.</summary>
    public byte[] Data { get; }

    public NpyArray(DType dtype, long[] shape, bool fortranOrder, byte[] data)
    {
        long bytes = checked(ShapeMath.Elements(shape) * DTypes.Size(dtype));
        if (bytes != data.Length) throw new ArgumentException($"shape [{string.Join(",", shape)}] of {dtype} needs {bytes} bytes, got {data.Length}.");
        DType = dtype; Shape = shape; FortranOrder = fortranOrder; Data = data;
    }

    public static NpyArray From(ITensorData t) => t as NpyArray ?? new NpyArray(t.DType, t.Shape, false, t.ToContiguousBytes());

    public byte[] ToContiguousBytes() =>
        !FortranOrder || Shape.Length < 2 ? Data
            : ShapeMath.Gather(Data, DTypes.Size(DType), 0, Shape, ShapeMath.FortranStrides(Shape));
}

/// <summary>What a .npy header says: the layout of the <paramref name="DataBytes"/> that follow it at <paramref name="DataOffset"/>.</summary>
public sealed record NpyHeader(DType DType, long[] Shape, bool FortranOrder, bool BigEndian, long DataOffset, long DataBytes);

/// <summary>numpy dtype strings ("&lt;f4", "|b1", …) to and from <see cref="DType"/>.</summary>
public static class NpyDTypes
{
    public static string Descr(DType t) => t switch
    {
        DType.F16 => "<f2", DType.F32 => "<f4", DType.F64 => "<f8",
        DType.I8 => "|i1", DType.I16 => "<i2", DType.I32 => "<i4", DType.I64 => "<i8",
        DType.U8 => "|u1", DType.Bool => "|b1",
        _ => throw new InvalidDataException($"numpy has no {t} dtype (bfloat16 must be converted to float32 first)."),
    };

    /// <summary>Parses a descr; <paramref name="bigEndian"/> is set for '&gt;' multi-byte types.</summary>
    public static DType Parse(string descr, out bool bigEndian, string where)
    {
        bigEndian = false;
        if (descr.Length < 3) throw new InvalidDataException($"{where}: unsupported numpy dtype '{descr}'.");
        char order = descr[0];
        string kind = descr[1..];
        if (order is not ('<' or '>' or '|' or '=')) throw new InvalidDataException($"{where}: unsupported numpy dtype '{descr}'.");
        DType? t = kind switch
        {
            "f2" => DType.F16, "f4" => DType.F32, "f8" => DType.F64,
            "i1" => DType.I8, "i2" => DType.I16, "i4" => DType.I32, "i8" => DType.I64,
            "u1" => DType.U8, "b1" => DType.Bool,
            _ => null,
        };
        if (t == null)
            throw new InvalidDataException($"{where}: numpy dtype '{descr}' is not supported (supported: f2 f4 f8 i1 i2 i4 i8 u1 b1).");
        bigEndian = order == '>' && DTypes.Size(t.Value) > 1;
        return t.Value;
    }
}

/// <summary>Reads .npy files (format versions 1.0, 2.0 and 3.0). Never evaluates the header: it is parsed as a literal.</summary>
public static class NpyReader
{
    static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };
    const int MaxHeaderBytes = 1 << 20;

    public static NpyArray Read(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(fs, $"'{path}'", fs.Length);
    }

    /// <summary>Reads one array from <paramref name="s"/>, which holds exactly <paramref name="length"/> bytes.</summary>
    public static NpyArray Read(Stream s, string where, long length)
    {
        var (dtype, shape, fortran, bigEndian, headerEnd) = ReadHeader(s, where, length);
        long bytes = DataLength(where, dtype, shape, length - headerEnd);
        var data = GC.AllocateUninitializedArray<byte>((int)bytes);
        s.ReadExactly(data);
        if (bigEndian) SwapBytes(data, DTypes.Size(dtype));
        return new NpyArray(dtype, shape, fortran, data);
    }

    /// <summary>
    /// The array as C-order float32 with its shape; a little-endian C-order f4 file is read
    /// straight into the result (one copy), anything else is converted.
    /// </summary>
    public static (float[] Data, long[] Shape) ReadFloat32(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var where = $"'{path}'";
        var (dtype, shape, fortran, bigEndian, headerEnd) = ReadHeader(fs, where, fs.Length);
        if (dtype != DType.F32 || bigEndian || (fortran && shape.Length >= 2))
        {
            fs.Position = 0;
            var a = Read(fs, where, fs.Length);
            return (a.ToFloat32(), a.Shape);
        }
        long bytes = DataLength(where, dtype, shape, fs.Length - headerEnd);
        var data = GC.AllocateUninitializedArray<float>((int)(bytes / 4));
        fs.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        return (data, shape);
    }

    /// <summary>
    /// Reads only the header from <paramref name="s"/> (which holds exactly <paramref name="length"/>
    /// bytes) and checks that the rest is exactly the data it promises; <paramref name="s"/> is left
    /// at the first data byte.
    /// </summary>
    public static NpyHeader ReadHeader(Stream s, string where, long length, bool checkLength = true)
    {
        var (dtype, shape, fortran, bigEndian, headerEnd) = ReadHeader(s, where, length);
        long bytes = checkLength ? DataLength(where, dtype, shape, length - headerEnd) : ShapeMath.ByteLength(shape, dtype, where);
        return new NpyHeader(dtype, shape, fortran, bigEndian, headerEnd, bytes);
    }

    /// <summary>The dtype, shape and order from a file's header, without reading its data.</summary>
    public static (DType DType, long[] Shape, bool FortranOrder) ReadInfo(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var (dtype, shape, fortran, _, headerEnd) = ReadHeader(fs, $"'{path}'", fs.Length);
        DataLength($"'{path}'", dtype, shape, fs.Length - headerEnd);
        return (dtype, shape, fortran);
    }

    /// <summary>The data bytes the header promises; throws unless the file holds exactly that many after the header.</summary>
    static long DataLength(string where, DType dtype, long[] shape, long available)
    {
        long bytes = ShapeMath.ByteLength(shape, dtype, where);
        if (available != bytes)
            throw new InvalidDataException($"{where}: header says {NpyDTypes.Descr(dtype)}[{string.Join(",", shape)}] = {bytes:N0} data bytes, but the file holds {available:N0}"
                + (available < bytes ? " (truncated)." : "."));
        return bytes;
    }

    public static NpyArray Read(byte[] bytes, string where) => Read(new MemoryStream(bytes, writable: false), where, bytes.Length);

    static (DType, long[], bool, bool, long) ReadHeader(Stream s, string where, long length)
    {
        if (length < 10) throw new InvalidDataException($"{where} is not a .npy file: {length} bytes.");
        Span<byte> pre = stackalloc byte[8];
        s.ReadExactly(pre);
        if (!pre[..6].SequenceEqual(Magic)) throw new InvalidDataException($"{where} is not a .npy file (no \\x93NUMPY magic).");
        int major = pre[6];
        long hlen;
        int prefix;
        if (major == 1)
        {
            Span<byte> l = stackalloc byte[2];
            s.ReadExactly(l);
            hlen = BinaryPrimitives.ReadUInt16LittleEndian(l); prefix = 10;
        }
        else if (major is 2 or 3)
        {
            if (length < 12) throw new InvalidDataException($"{where}: truncated .npy header.");
            Span<byte> l = stackalloc byte[4];
            s.ReadExactly(l);
            hlen = BinaryPrimitives.ReadUInt32LittleEndian(l); prefix = 12;
        }
        else throw new InvalidDataException($"{where}: .npy format version {major}.{pre[7]} is not supported (1.0, 2.0, 3.0).");
        if (hlen > MaxHeaderBytes || prefix + hlen > length)
            throw new InvalidDataException($"{where}: .npy header length {hlen} does not fit the file ({length} bytes).");
        var hb = new byte[hlen];
        s.ReadExactly(hb);
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(hb);
        var dict = PyLiteral.ParseDict(header, where);
        if (dict.GetValueOrDefault("descr") is not string descr)
            throw new InvalidDataException($"{where}: .npy header has no plain 'descr' (structured dtypes are not supported).");
        if (dict.GetValueOrDefault("fortran_order") is not bool fortran)
            throw new InvalidDataException($"{where}: .npy header has no boolean 'fortran_order'.");
        if (dict.GetValueOrDefault("shape") is not List<object> shapeList || shapeList.Any(x => x is not long))
            throw new InvalidDataException($"{where}: .npy header has no integer 'shape' tuple.");
        var shape = shapeList.Cast<long>().ToArray();
        if (shape.Any(d => d < 0)) throw new InvalidDataException($"{where}: negative dimension in shape ({string.Join(",", shape)}).");
        var dtype = NpyDTypes.Parse(descr, out bool bigEndian, where);
        return (dtype, shape, fortran, bigEndian, prefix + hlen);
    }

    static void SwapBytes(byte[] data, int size)
    {
        for (int i = 0; i < data.Length; i += size) Array.Reverse(data, i, size);
    }
}

/// <summary>Writes .npy files (version 1.0, or 2.0 when the header is too long for 1.0).</summary>
public static class NpyWriter
{
    public static void Write(string path, ITensorData array) =>
        Common.AtomicFile.Write(path, s => WriteTo(s, array));

    public static void Write(string path, float[] data, params long[] shape) => Write(path, DenseTensor.FromFloat32(data, shape));

    public static void Write(string path, double[] data, params long[] shape) => Write(path, DenseTensor.FromFloat64(data, shape));

    public static void WriteTo(Stream s, ITensorData array)
    {
        bool fortran = array is NpyArray { FortranOrder: true } n && n.Shape.Length >= 2;
        var data = fortran ? ((NpyArray)array).Data : array.ToContiguousBytes();
        s.Write(Header(NpyDTypes.Descr(array.DType), array.Shape, fortran));
        s.Write(data);
    }

    /// <summary>
    /// The bytes before the data: magic, version (1.0, or 2.0 for a long header), header length and
    /// the dict padded with spaces to a multiple of 64 bytes.
    /// </summary>
    public static byte[] Header(string descr, long[] shape, bool fortranOrder = false)
    {
        string shp = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortranOrder ? "True" : "False")}, 'shape': {shp}, }}";
        int major = dict.Length + 11 > ushort.MaxValue ? 2 : 1;
        int prefix = major == 1 ? 10 : 12;
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        var header = dict.PadRight(total - prefix - 1) + "\n";
        var bytes = new byte[prefix + header.Length];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 }.CopyTo(bytes, 0);
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)header.Length);
        Encoding.Latin1.GetBytes(header, bytes.AsSpan(prefix));
        return bytes;
    }
}

/// <summary>
/// A parser for the Python literal in a .npy header: dicts, tuples, lists, quoted strings,
/// integers, True/False/None. Anything else is refused (the header is never evaluated).
/// Tuples and lists become <c>List&lt;object&gt;</c>, integers <c>long</c>.
/// </summary>
static class PyLiteral
{
    public static Dictionary<string, object?> ParseDict(string text, string where)
    {
        int i = 0;
        var v = Value(text, ref i, where, 0);
        Skip(text, ref i);
        if (i != text.Length) throw Bad(where, "trailing characters");
        return v as Dictionary<string, object?> ?? throw Bad(where, "not a dict");
    }

    static InvalidDataException Bad(string where, string what) => new($"{where}: malformed .npy header ({what}).");

    static void Skip(string t, ref int i)
    {
        while (i < t.Length && char.IsWhiteSpace(t[i])) i++;
    }

    static object? Value(string t, ref int i, string where, int depth)
    {
        if (depth > 16) throw Bad(where, "nested too deeply");
        Skip(t, ref i);
        if (i >= t.Length) throw Bad(where, "unexpected end");
        char c = t[i];
        if (c == '{')
        {
            i++;
            var d = new Dictionary<string, object?>();
            while (true)
            {
                Skip(t, ref i);
                if (i < t.Length && t[i] == '}') { i++; return d; }
                if (Value(t, ref i, where, depth + 1) is not string key) throw Bad(where, "dict key is not a string");
                Skip(t, ref i);
                if (i >= t.Length || t[i] != ':') throw Bad(where, "expected ':'");
                i++;
                d[key] = Value(t, ref i, where, depth + 1);
                Skip(t, ref i);
                if (i < t.Length && t[i] == ',') { i++; continue; }
                if (i < t.Length && t[i] == '}') { i++; return d; }
                throw Bad(where, "expected ',' or '}'");
            }
        }
        if (c is '(' or '[')
        {
            char close = c == '(' ? ')' : ']';
            i++;
            var l = new List<object>();
            while (true)
            {
                Skip(t, ref i);
                if (i < t.Length && t[i] == close) { i++; return l; }
                l.Add(Value(t, ref i, where, depth + 1) ?? throw Bad(where, "None inside a sequence"));
                Skip(t, ref i);
                if (i < t.Length && t[i] == ',') { i++; continue; }
                if (i < t.Length && t[i] == close) { i++; return l; }
                throw Bad(where, $"expected ',' or '{close}'");
            }
        }
        if (c is '\'' or '"')
        {
            int end = t.IndexOf(c, i + 1);
            if (end < 0) throw Bad(where, "unterminated string");
            var s = t[(i + 1)..end];
            if (s.Contains('\\')) throw Bad(where, "escapes in strings are not supported");
            i = end + 1;
            return s;
        }
        if (char.IsDigit(c) || c == '-')
        {
            int start = i++;
            while (i < t.Length && char.IsDigit(t[i])) i++;
            if (i < t.Length && t[i] == 'L') i++; // Python 2 longs
            var num = t[start..i].TrimEnd('L');
            return long.TryParse(num, out var v) ? v : throw Bad(where, $"'{num}' is not an integer in range");
        }
        foreach (var (word, val) in new (string, object?)[] { ("True", true), ("False", false), ("None", null) })
            if (string.CompareOrdinal(t, i, word, 0, word.Length) == 0) { i += word.Length; return val; }
        throw Bad(where, $"unexpected '{c}'");
    }
}
