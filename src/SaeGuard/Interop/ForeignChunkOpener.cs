using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.IO.Torch;

namespace SaeGuard.Interop;

/// <summary>
/// Opens one [tokens, features] foreign chunk for streaming: .npy and safetensors at the data's
/// offset in the file, an .npz member through its inflating stream, a .pt storage through its zip
/// entry (torch stores it uncompressed) after the pickle was read without its storages. Index
/// tensors (token_ids, doc_ids, positions: one integer per row) are read whole. Null when the
/// chunk's layout needs the whole-chunk reader: [features, tokens], Fortran order, a strided
/// torch view, an integer matrix.
/// </summary>
static class ForeignChunkOpener
{
    public sealed record Opened(ForeignChunkRows Rows, Dictionary<string, int[]> Index);

    public static Opened? TryOpen(string file, string key, int width)
    {
        switch (Path.GetExtension(file).ToLowerInvariant())
        {
            case ".npy":
                {
                    var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                    try
                    {
                        var h = NpyReader.ReadHeader(fs, $"'{file}'", fs.Length);
                        if (!Streamable(file, h.DType, h.Shape, h.FortranOrder, width, out long rows)) { fs.Dispose(); return null; }
                        return new Opened(new StreamChunkRows(fs, h.DType, h.BigEndian, rows, width), new());
                    }
                    catch { fs.Dispose(); throw; }
                }
            case ".npz":
                {
                    var z = NpzReader.Open(file);
                    try
                    {
                        var h = z.Header(key);
                        if (!Streamable(file, h.DType, h.Shape, h.FortranOrder, width, out long rows)) { z.Dispose(); return null; }
                        var index = new Dictionary<string, int[]>();
                        foreach (var k in z.Keys.Where(k => k != key && IndexField(k) != null))
                            if (ShapeMath.Elements(z.Header(k).Shape) == rows) AddIndex(index, k, z.Read(k));
                        var s = z.OpenArray(key, out _);
                        return new Opened(new StreamChunkRows(new OwningStream(s, z), h.DType, h.BigEndian, rows, width), index);
                    }
                    catch { z.Dispose(); throw; }
                }
            case ".safetensors":
                {
                    var r = new SafeTensorsReader(file);
                    try
                    {
                        var t = r.Get(key);
                        if (!Streamable(file, t.DType, t.Shape, false, width, out long rows)) { r.Dispose(); return null; }
                        var index = new Dictionary<string, int[]>();
                        foreach (var (k, info) in r.Tensors)
                            if (k != key && IndexField(k) != null && info.Elements == rows) AddIndex(index, k, r.ReadTensor(k));
                        return new Opened(new SafeTensorsChunkRows(r, t, rows, width), index);
                    }
                    catch { r.Dispose(); throw; }
                }
            default:
                {
                    var tensors = TorchPickleReader.FlattenTensors(TorchPickleReader.LoadLazy(file));
                    if (!tensors.TryGetValue(key, out var t)) throw new UserError($"'{file}' has no tensor '{key}' (the first chunk had it).");
                    if (!t.IsContiguous || !Streamable(file, t.DType, t.Shape, false, width, out long rows)) return null;
                    var index = new Dictionary<string, int[]>();
                    foreach (var (k, x) in tensors)
                        if (k != key && IndexField(k) != null && x.Elements() == rows && x.Storage != t.Storage) AddIndex(index, k, x);
                    var s = TorchPickleReader.OpenStorage(file, t.Storage);
                    try
                    {
                        Skip(s, t.StorageOffset * DTypes.Size(t.DType));
                        return new Opened(new StreamChunkRows(s, t.DType, false, rows, width), index);
                    }
                    catch { s.Dispose(); throw; }
                }
        }
    }

    static bool Streamable(string file, DType dtype, long[] shape, bool fortran, int width, out long rows)
    {
        rows = 0;
        if (dtype is not (DType.F32 or DType.F16 or DType.BF16 or DType.F64) || shape.Length < 2 || fortran) return false;
        if (shape[^1] != width) throw new UserError($"'{file}' holds [{string.Join(",", shape)}], which does not have {width} features.");
        rows = shape[..^1].Aggregate(1L, (a, b) => a * b);
        return true;
    }

    static void Skip(Stream s, long bytes)
    {
        var buf = new byte[(int)Math.Min(bytes, 1 << 16)];
        while (bytes > 0)
        {
            int n = (int)Math.Min(bytes, buf.Length);
            s.ReadExactly(buf, 0, n);
            bytes -= n;
        }
    }

    /// <summary>Adds an index-named integer tensor as its SaeGuard field (a float tensor with such a name is not an index).</summary>
    public static void AddIndex(Dictionary<string, int[]> index, string name, ITensorData tensor)
    {
        if (IndexField(name) is not { } field) return;
        try { index.TryAdd(field, tensor.ToInt64().Select(v => (int)v).ToArray()); }
        catch (InvalidDataException) { }
    }

    /// <summary>The index field ("tok", "doc", "pos") a tensor name stands for, or null.</summary>
    public static string? IndexField(string key)
    {
        var leaf = key.Split('.')[^1].ToLowerInvariant();
        return leaf switch
        {
            "token_ids" or "token_id" or "input_ids" or "tokens" => "tok",
            "doc_ids" or "doc_id" or "document_ids" => "doc",
            "positions" or "position" or "pos" => "pos",
            _ => null,
        };
    }
}
