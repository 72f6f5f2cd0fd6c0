using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace SaeGuard.IO.Torch;

/// <summary>One tensor for <see cref="TorchWriter"/>: C-order little-endian bytes of its own storage.</summary>
public sealed record TorchTensorData(string Name, DType DType, long[] Shape, byte[] Data);

/// <summary>
/// Writes the zip format of <c>torch.save</c> (PyTorch ≥ 1.6): <c>&lt;name&gt;/data.pkl</c> (pickle
/// protocol 2, the opcodes torch's pickler emits), one stored (uncompressed) entry per storage and
/// <c>version</c>. A single tensor named "" is saved bare (<c>torch.save(t)</c>), otherwise as a
/// dict of name → tensor. What <see cref="TorchPickleReader"/> and <c>torch.load(weights_only=True)</c> read.
/// </summary>
public static class TorchWriter
{
    static readonly Dictionary<DType, string> StorageNames = new()
    {
        [DType.F32] = "FloatStorage", [DType.F16] = "HalfStorage", [DType.BF16] = "BFloat16Storage", [DType.F64] = "DoubleStorage",
        [DType.I64] = "LongStorage", [DType.I32] = "IntStorage", [DType.I16] = "ShortStorage", [DType.I8] = "CharStorage",
        [DType.U8] = "ByteStorage", [DType.Bool] = "BoolStorage",
    };

    public static void Save(string path, params TorchTensorData[] tensors) =>
        Common.AtomicFile.Write(path, s => WriteTo(s, System.IO.Path.GetFileNameWithoutExtension(path), tensors));

    public static void WriteTo(Stream s, string archiveName, IReadOnlyList<TorchTensorData> tensors)
    {
        foreach (var t in tensors)
            if (t.Data.LongLength != ShapeMath.Elements(t.Shape) * DTypes.Size(t.DType))
                throw new ArgumentException($"tensor '{t.Name}': {t.Data.LongLength} bytes do not make {t.DType}[{string.Join(",", t.Shape)}].");
        using var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true);
        void Add(string name, ReadOnlySpan<byte> data)
        {
            using var e = zip.CreateEntry(archiveName + "/" + name, CompressionLevel.NoCompression).Open();
            e.Write(data);
        }
        Add("data.pkl", Pickle(tensors));
        for (int i = 0; i < tensors.Count; i++) Add("data/" + i, tensors[i].Data);
        Add("version", "3\n"u8);
    }

    /// <summary>The data.pkl bytes for the tensors (storage keys "0", "1", … in order).</summary>
    public static byte[] Pickle(IReadOnlyList<TorchTensorData> tensors)
    {
        var p = new PickleWriter();
        p.Op(0x80).Op(2);
        bool bare = tensors.Count == 1 && tensors[0].Name.Length == 0;
        if (bare) Tensor(p, tensors[0], 0);
        else
        {
            p.Op('}').Put();
            if (tensors.Count > 1) p.Op('(');
            for (int i = 0; i < tensors.Count; i++) { p.Str(tensors[i].Name); Tensor(p, tensors[i], i); if (tensors.Count == 1) p.Op('s'); }
            if (tensors.Count > 1) p.Op('u');
        }
        p.Op('.');
        return p.ToArray();
    }

    static void Tensor(PickleWriter p, TorchTensorData t, int key)
    {
        p.Global("torch._utils", "_rebuild_tensor_v2");
        p.Op('(').Op('(').Str("storage").Global("torch", StorageNames[t.DType]).Str(key.ToString(System.Globalization.CultureInfo.InvariantCulture)).Str("cpu")
            .Int(ShapeMath.Elements(t.Shape)).Op('t').Put().Op('Q');
        p.Int(0).Tuple(t.Shape).Tuple(ShapeMath.CStrides(t.Shape)).Op(0x89);
        p.Global("collections", "OrderedDict").Op(')').Op('R').Put();
        p.Op('t').Put().Op('R').Put();
    }

    /// <summary>Pickle protocol 2 opcodes with a memo counter (every BINPUT as the Python pickler numbers them).</summary>
    sealed class PickleWriter
    {
        readonly MemoryStream _s = new();
        int _memo;

        public PickleWriter Op(int op) { _s.WriteByte((byte)op); return this; }

        public PickleWriter Put()
        {
            if (_memo < 256) { Op('q').Op(_memo); }
            else { Op('r'); Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, _memo); _s.Write(b); }
            _memo++;
            return this;
        }

        public PickleWriter Str(string v)
        {
            var bytes = Encoding.UTF8.GetBytes(v);
            Op('X');
            Span<byte> n = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)bytes.Length);
            _s.Write(n); _s.Write(bytes);
            return Put();
        }

        public PickleWriter Global(string module, string name)
        {
            Op('c'); _s.Write(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
            return Put();
        }

        public PickleWriter Int(long v)
        {
            Span<byte> b = stackalloc byte[8];
            if (v is >= 0 and < 256) return Op('K').Op((int)v);
            if (v is >= 0 and < 65536) { Op('M'); BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); _s.Write(b[..2]); return this; }
            if (v is >= int.MinValue and <= int.MaxValue) { Op('J'); BinaryPrimitives.WriteInt32LittleEndian(b, (int)v); _s.Write(b[..4]); return this; }
            BinaryPrimitives.WriteInt64LittleEndian(b, v);
            int len = 8;
            while (len > 1 && ((b[len - 1] == 0 && (b[len - 2] & 0x80) == 0) || (b[len - 1] == 0xFF && (b[len - 2] & 0x80) != 0))) len--;
            Op(0x8a).Op(len); _s.Write(b[..len]);
            return this;
        }

        public PickleWriter Tuple(long[] items)
        {
            if (items.Length == 0) return Op(')');
            if (items.Length > 3) Op('(');
            foreach (var v in items) Int(v);
            Op(items.Length switch { 1 => 0x85, 2 => 0x86, 3 => 0x87, _ => 't' });
            return Put();
        }

        public byte[] ToArray() => _s.ToArray();
    }
}
