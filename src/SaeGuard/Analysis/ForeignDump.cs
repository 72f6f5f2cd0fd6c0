using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.IO;

namespace SaeGuard.Analysis;

/// <summary>A 2-D float array in one chunk file [rows, width], read in row blocks.</summary>
public interface IChunkReader
{
    string Path { get; }
    long Rows { get; }
    int Width { get; }
    /// <summary>Blocks of whole rows, row-major float32, in file order. A block's array may be reused for the next block.</summary>
    IEnumerable<(float[] Data, int Rows)> ReadRows(int blockRows);
}

/// <summary>
/// A dump folder written by another tool (e.g. the old system's <c>sae_feats_layer20/</c>): chunk
/// files (.npy, .npz, .safetensors) in natural name order, and an optional meta.json of unknown
/// schema whose token count, width and per-chunk row counts are checked when present. A meta.json
/// whose counts fit only the transposed matrix is reported (<see cref="TransposedPerMeta"/>), not
/// fixed; any other disagreement is a <see cref="UserError"/>.
/// NOTE for the integrator: the .npy/.npz reading here is a minimal private reader (f2/f4/f8/i4/i8/u1/b1,
/// C and Fortran order); swap it for the interop module's NpyReader/NpzReader, and add .pt chunks there.
/// </summary>
public sealed class ForeignDump
{
    static readonly string[] DataExtensions = { ".npy", ".npz", ".safetensors", ".pt" };

    public string Dir { get; }
    public IReadOnlyList<IChunkReader> Chunks { get; }
    public int Width { get; }
    public long Rows { get; }
    public long? MetaTokens { get; }
    public long? MetaWidth { get; }
    public bool TransposedPerMeta { get; }

    ForeignDump(string dir, List<IChunkReader> chunks, long? metaTokens, long? metaWidth, bool transposed)
    {
        Dir = dir; Chunks = chunks; Width = chunks[0].Width; Rows = chunks.Sum(c => c.Rows);
        MetaTokens = metaTokens; MetaWidth = metaWidth; TransposedPerMeta = transposed;
    }

    public static ForeignDump Open(string dir)
    {
        if (!Directory.Exists(dir)) throw new UserError($"Dump folder not found: '{dir}'.");
        var files = Directory.GetFiles(dir).Where(f => DataExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).ToList();
        var named = files.Where(f => ChunkWords.Any(w => Path.GetFileName(f).Contains(w, StringComparison.OrdinalIgnoreCase))).ToList();
        if (named.Count > 0) files = named;
        files = files.Where(f => !Path.GetFileName(f).StartsWith("feature_stats", StringComparison.OrdinalIgnoreCase)).ToList();
        if (files.Count == 0)
            throw new UserError($"'{dir}' holds no chunk files: expected a SaeGuard dump (meta.json + shards) or a folder of .npy / .npz / .safetensors chunks [tokens, features].");
        files.Sort(NaturalCompare);
        var pt = files.FirstOrDefault(f => f.EndsWith(".pt", StringComparison.OrdinalIgnoreCase));
        if (pt != null)
            throw new UserError($"'{pt}': PyTorch .pt chunks are not readable by this build's analysis (the interop reader adds them); convert the chunks to .npy or .safetensors.");
        var chunks = files.Select(OpenChunk).ToList();
        var first = chunks[0];
        foreach (var c in chunks.Skip(1))
            if (c.Width != first.Width)
                throw new UserError($"'{c.Path}' has width {c.Width} but '{Path.GetFileName(first.Path)}' has width {first.Width}: every chunk of a dump must have the same number of features (columns).");
        var (tokens, width, perChunk) = ReadMeta(dir);
        long rows = chunks.Sum(c => c.Rows);
        var metaPath = Path.Combine(dir, "meta.json");
        if (perChunk != null)
        {
            foreach (var (file, r) in perChunk)
            {
                var c = chunks.FirstOrDefault(x => Path.GetFileName(x.Path) == file)
                    ?? throw new UserError($"'{metaPath}' lists chunk '{file}', which is not in the folder.");
                if (r != c.Rows) throw new UserError($"'{metaPath}' says chunk '{file}' has {r} rows but the file holds {c.Rows}.");
            }
        }
        bool transposed = false;
        if (tokens != null && tokens != rows)
        {
            // the counts fit the transposed matrix: report it (AXIS), do not fail
            if (tokens == first.Width && (width == null || width == rows)) transposed = true;
            else throw new UserError($"'{metaPath}' says there are {tokens} tokens but the chunks hold {rows} rows (of width {first.Width}); the metadata and the files disagree.");
        }
        else if (width != null && width != first.Width)
            throw new UserError($"'{metaPath}' says the width is {width} but the chunks have {first.Width} columns.");
        return new ForeignDump(dir, chunks, tokens, width, transposed);
    }

    static readonly string[] ChunkWords = { "chunk", "shard", "part" };

    public IEnumerable<RowBlock> ReadBlocks(int blockRows)
    {
        long rowId = 0;
        foreach (var c in Chunks)
            foreach (var (data, rows) in c.ReadRows(blockRows))
            {
                var ids = new long[rows];
                for (int i = 0; i < rows; i++) ids[i] = rowId + i;
                rowId += rows;
                var unknown = new int[rows];
                Array.Fill(unknown, -1);
                yield return new RowBlock { Data = data, Rows = rows, D = Width, RowIds = ids, DocIds = unknown, Positions = new int[rows], TokenIds = unknown, IsSpecial = new bool[rows] };
            }
    }

    static readonly string[] TokenKeys = { "n_tokens", "num_tokens", "total_tokens", "n_rows", "num_rows", "tokens", "rows", "n_samples" };
    static readonly string[] WidthKeys = { "d_sae", "n_features", "num_features", "n_latents", "num_latents", "dict_size", "d_hidden", "width", "d" };
    static readonly string[] ChunkListKeys = { "chunks", "files", "shards" };
    static readonly string[] ChunkFileKeys = { "file", "path", "name", "filename" };
    static readonly string[] ChunkRowKeys = { "rows", "n_rows", "n_tokens", "num_tokens", "tokens" };

    static (long? Tokens, long? Width, List<(string File, long Rows)>? PerChunk) ReadMeta(string dir)
    {
        var path = Path.Combine(dir, "meta.json");
        if (!File.Exists(path)) return (null, null, null);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (System.Text.Json.JsonException e) { throw new UserError($"'{path}' is not valid JSON: {e.Message}"); }
        if (root is not JsonObject obj) return (null, null, null);
        long? tokens = FirstNumber(obj, TokenKeys), width = FirstNumber(obj, WidthKeys);
        if (obj["shape"] is JsonArray shape && shape.Count == 2 && Num(shape[0]) is long s0 && Num(shape[1]) is long s1)
        {
            tokens ??= s0; width ??= s1;
        }
        List<(string, long)>? perChunk = null;
        var list = ChunkListKeys.Select(k => Get(obj, k)).OfType<JsonArray>().FirstOrDefault();
        if (list != null)
            foreach (var item in list.OfType<JsonObject>())
            {
                var file = ChunkFileKeys.Select(k => Get(item, k)).OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : null).FirstOrDefault(s => s != null);
                long? rows = FirstNumber(item, ChunkRowKeys);
                if (rows == null && item["shape"] is JsonArray cs && cs.Count >= 1) rows = Num(cs[0]);
                if (file != null && rows != null) (perChunk ??= new()).Add((Path.GetFileName(file), rows.Value));
            }
        return (tokens, width, perChunk);
    }

    static JsonNode? Get(JsonObject o, string key) =>
        o.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    static long? FirstNumber(JsonObject o, string[] keys) => keys.Select(k => Num(Get(o, k))).FirstOrDefault(v => v != null);

    static long? Num(JsonNode? n) =>
        n is JsonValue v && v.TryGetValue<long>(out var l) ? l : n is JsonValue d && d.TryGetValue<double>(out var x) && x == Math.Floor(x) ? (long)x : null;

    static int NaturalCompare(string a, string b)
    {
        static IEnumerable<object> Parts(string s) =>
            System.Text.RegularExpressions.Regex.Split(Path.GetFileName(s), @"(\d+)").Where(p => p.Length > 0)
                .Select(p => char.IsDigit(p[0]) ? (object)decimal.Parse(p) : p.ToLowerInvariant());
        using var ea = Parts(a).GetEnumerator(); using var eb = Parts(b).GetEnumerator();
        while (true)
        {
            bool ma = ea.MoveNext(), mb = eb.MoveNext();
            if (!ma || !mb) return ma.CompareTo(mb);
            int c = (ea.Current, eb.Current) switch
            {
                (decimal x, decimal y) => x.CompareTo(y),
                (string x, string y) => string.CompareOrdinal(x, y),
                (decimal, _) => -1,
                _ => 1,
            };
            if (c != 0) return c;
        }
    }

    static IChunkReader OpenChunk(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".npy" => NpyChunk.OpenFile(path),
        ".npz" => NpzChunk.Open(path),
        ".safetensors" => SafeTensorsChunk.Open(path),
        _ => throw new UserError($"'{path}': unsupported chunk type."),
    };

    /// <summary>Preferred array names inside an .npz or .safetensors chunk.</summary>
    internal static readonly string[] PreferredNames = { "codes", "feats", "features", "acts", "activations", "sae_feats", "latents", "x", "data", "arr_0" };

    static (long Rows, int Width) RowsAndWidth(string path, string what, long[] shape)
    {
        if (shape.Length < 2)
            throw new UserError($"'{path}': {what} has shape [{string.Join(",", shape)}]; a chunk must be 2-D [tokens, features] (or 3-D [batch, seq, features]).");
        long rows = shape[..^1].Aggregate(1L, (a, b) => a * b);
        if (shape[^1] <= 0 || shape[^1] > int.MaxValue) throw new UserError($"'{path}': {what} has an invalid width {shape[^1]}.");
        return (rows, (int)shape[^1]);
    }

    /// <summary>Minimal .npy: v1–v3 headers; little-endian f2/f4/f8/i4/i8/u1/b1; C order streamed, Fortran order loaded whole.</summary>
    sealed class NpyChunk : IChunkReader
    {
        public string Path { get; }
        public long Rows { get; }
        public int Width { get; }
        readonly Func<Stream> _open;
        readonly long _dataOffset;
        readonly string _descr;
        readonly bool _fortran;

        NpyChunk(string path, Func<Stream> open, long dataOffset, string descr, bool fortran, long rows, int width)
        {
            Path = path; _open = open; _dataOffset = dataOffset; _descr = descr; _fortran = fortran; Rows = rows; Width = width;
        }

        public static NpyChunk OpenFile(string path) => Open(path, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20));

        public static NpyChunk Open(string path, Func<Stream> open)
        {
            using var s = open();
            var (descr, fortran, shape, offset) = ReadHeader(s, path);
            var (rows, width) = RowsAndWidth(path, "the array", shape);
            if (fortran && shape.Length != 2) throw new UserError($"'{path}': a Fortran-order array must be 2-D.");
            long expected = offset + rows * width * ElementSize(descr, path);
            if (s.CanSeek && s.Length < expected) throw new UserError($"'{path}' is truncated: the header promises {expected} bytes, the file has {s.Length}.");
            return new NpyChunk(path, open, offset, descr, fortran, rows, width);
        }

        public static (string Descr, bool Fortran, long[] Shape, long Offset) ReadHeader(Stream s, string path)
        {
            var pre = new byte[10];
            if (s.ReadAtLeast(pre, 10, throwOnEndOfStream: false) < 10 || pre[0] != 0x93 || Encoding.ASCII.GetString(pre, 1, 5) != "NUMPY")
                throw new UserError($"'{path}' is not a .npy file (bad magic).");
            int major = pre[6];
            long hlen; int lenBytes;
            if (major == 1) { hlen = BinaryPrimitives.ReadUInt16LittleEndian(pre.AsSpan(8)); lenBytes = 2; }
            else if (major is 2 or 3)
            {
                var more = new byte[2];
                s.ReadExactly(more);
                hlen = BinaryPrimitives.ReadUInt32LittleEndian(new byte[] { pre[8], pre[9], more[0], more[1] }); lenBytes = 4;
            }
            else throw new UserError($"'{path}': .npy format version {major} is not supported.");
            if (hlen > 1 << 20) throw new UserError($"'{path}': .npy header of {hlen} bytes is implausibly large.");
            var hb = new byte[hlen];
            s.ReadExactly(hb);
            var header = Encoding.Latin1.GetString(hb);
            string descr = Field(header, "descr", path).Trim('\'', '"', ' ');
            bool fortran = Field(header, "fortran_order", path).Trim() == "True";
            var shapeText = Field(header, "shape", path).Trim().Trim('(', ')');
            var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(x => long.TryParse(x.TrimEnd('L'), out var v) && v >= 0 ? v : throw new UserError($"'{path}': bad shape '{shapeText}' in the .npy header.")).ToArray();
            ElementSize(descr, path);
            return (descr, fortran, shape, 8 + lenBytes + hlen);
        }

        static string Field(string header, string key, string path)
        {
            var m = System.Text.RegularExpressions.Regex.Match(header, $@"['""]{key}['""]\s*:\s*(\([^)]*\)|'[^']*'|""[^""]*""|True|False)");
            if (!m.Success) throw new UserError($"'{path}': the .npy header has no '{key}'.");
            return m.Groups[1].Value;
        }

        static DType DTypeOf(string descr, string path) => descr switch
        {
            "<f2" => DType.F16, "<f4" => DType.F32, "<f8" => DType.F64, "<i4" => DType.I32, "<i8" => DType.I64,
            "|u1" or "<u1" => DType.U8, "|b1" => DType.Bool,
            _ => throw new UserError($"'{path}': .npy dtype '{descr}' is not supported (little-endian f2/f4/f8/i4/i8/u1/b1)."),
        };

        static int ElementSize(string descr, string path) => DTypes.Size(DTypeOf(descr, path));

        public IEnumerable<(float[] Data, int Rows)> ReadRows(int blockRows)
        {
            int es = ElementSize(_descr, Path);
            using var s = _open();
            SkipTo(s, _dataOffset);
            if (_fortran)
            {
                var all = new float[Rows * Width];
                ReadFloats(s, all, es);
                var t = new float[all.Length];
                for (int j = 0; j < Width; j++)
                    for (long i = 0; i < Rows; i++) t[i * Width + j] = all[j * Rows + i];
                for (long r = 0; r < Rows; r += blockRows)
                {
                    int n = (int)Math.Min(blockRows, Rows - r);
                    yield return (t.AsSpan((int)(r * Width), n * Width).ToArray(), n);
                }
                yield break;
            }
            var buffers = new FloatRowReader();
            for (long r = 0; r < Rows; r += blockRows)
            {
                int n = (int)Math.Min(blockRows, Rows - r);
                var buf = buffers.Buffer((long)n * Width);
                ReadFloats(s, buf, es);
                yield return (buf, n);
            }
        }

        static void SkipTo(Stream s, long offset)
        {
            if (s.CanSeek) { s.Position = offset; return; }
            var buf = new byte[4096];
            long left = offset;
            while (left > 0) { int n = s.Read(buf, 0, (int)Math.Min(buf.Length, left)); if (n <= 0) throw new EndOfStreamException(); left -= n; }
        }

        void ReadFloats(Stream s, float[] dst, int es)
        {
            if (_descr == "<f4")
            {
                // straight into the floats (little-endian host)
                var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst.AsSpan());
                if (s.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length) throw new UserError($"'{Path}' is truncated.");
                return;
            }
            if (_raw == null || _raw.Length != dst.LongLength * es) _raw = new byte[dst.LongLength * es];
            if (s.ReadAtLeast(_raw, _raw.Length, throwOnEndOfStream: false) < _raw.Length) throw new UserError($"'{Path}' is truncated.");
            DTypes.ToFloat(DTypeOf(_descr, Path), _raw, dst);
        }
        byte[]? _raw;
    }

    /// <summary>An .npz chunk: the preferred or the only 2-D array inside, streamed from its zip entry.</summary>
    static class NpzChunk
    {
        public static IChunkReader Open(string path)
        {
            List<string> names;
            try
            {
                using var zip = ZipFile.OpenRead(path);
                names = zip.Entries.Where(e => e.FullName.EndsWith(".npy")).Select(e => e.FullName).ToList();
            }
            catch (InvalidDataException e) { throw new UserError($"'{path}' is not a valid .npz (zip) file: {e.Message}"); }
            if (names.Count == 0) throw new UserError($"'{path}' holds no .npy arrays.");
            // only arrays with ≥ 2 dimensions can be [tokens, features]
            var shapes = names.ToDictionary(n => n, n => { using var s = OpenEntry(path, n); return NpyChunk.ReadHeader(s, $"{path}:{n}").Shape; });
            var candidates = names.Where(n => shapes[n].Length >= 2).ToList();
            if (candidates.Count == 0)
                throw new UserError($"'{path}' holds no 2-D array (it has: {string.Join(", ", names.Select(n => $"{n} [{string.Join(",", shapes[n])}]"))}).");
            var pick = PreferredNames.Select(p => candidates.FirstOrDefault(n => System.IO.Path.GetFileNameWithoutExtension(n) == p)).FirstOrDefault(n => n != null)
                ?? candidates.OrderByDescending(n => shapes[n].Aggregate(1L, (a, b) => a * b)).First();
            return NpyChunk.Open($"{path}:{pick}", () => OpenEntry(path, pick));
        }

        static Stream OpenEntry(string path, string name)
        {
            var zip = ZipFile.OpenRead(path);
            var entry = zip.GetEntry(name)!;
            if (entry.Length > 64L << 30) throw new UserError($"'{path}': entry '{name}' declares {entry.Length} bytes, more than this reader accepts.");
            return new OwningStream(entry.Open(), zip);
        }
    }

    /// <summary>A stream that disposes its zip archive with it.</summary>
    sealed class OwningStream(Stream inner, IDisposable owner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) { inner.Dispose(); owner.Dispose(); } base.Dispose(disposing); }
    }

    /// <summary>A safetensors chunk: the preferred or largest float tensor, read in row blocks.</summary>
    sealed class SafeTensorsChunk : IChunkReader
    {
        public string Path { get; }
        public long Rows { get; }
        public int Width { get; }
        readonly string _tensor;

        SafeTensorsChunk(string path, string tensor, long rows, int width) { Path = path; _tensor = tensor; Rows = rows; Width = width; }

        public static SafeTensorsChunk Open(string path)
        {
            try
            {
                using var r = new SafeTensorsReader(path);
                var floats = r.Tensors.Values.Where(t => t.DType is DType.F32 or DType.F16 or DType.BF16 or DType.F64 && t.Shape.Length >= 2).ToList();
                var t = PreferredNames.Select(p => floats.FirstOrDefault(x => x.Name == p)).FirstOrDefault(x => x != null)
                    ?? floats.OrderByDescending(x => x.Elements).FirstOrDefault()
                    ?? throw new UserError($"'{path}' has no 2-D float tensor (it has: {string.Join(", ", r.Tensors.Keys)}).");
                var (rows, width) = RowsAndWidth(path, $"tensor '{t.Name}'", t.Shape);
                return new SafeTensorsChunk(path, t.Name, rows, width);
            }
            catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
        }

        public IEnumerable<(float[] Data, int Rows)> ReadRows(int blockRows)
        {
            using var r = new SafeTensorsReader(Path);
            var t = r.Get(_tensor);
            var rows = new FloatRowReader();
            for (long row = 0; row < Rows; row += blockRows)
            {
                int n = (int)Math.Min(blockRows, Rows - row);
                yield return (rows.Read(r, t, row, n, Width), n);
            }
        }
    }
}
