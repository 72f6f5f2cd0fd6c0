using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.IO.Torch;

namespace SaeGuard.Interop;

public enum DumpOrientation { TokensByFeatures, FeaturesByTokens }

/// <summary>How the [tokens, features] axes of a foreign dump were decided, for reporting.</summary>
public sealed record OrientationGuess(DumpOrientation Orientation, string Reason, bool Confident)
{
    public override string ToString() =>
        $"{(Orientation == DumpOrientation.TokensByFeatures ? "[tokens, features]" : "[features, tokens] (transposed on read)")}: {Reason}{(Confident ? "" : " (a guess)")}";
}

public sealed record ForeignDumpOptions
{
    /// <summary>Forces the orientation instead of guessing it.</summary>
    public DumpOrientation? Orientation { get; init; }
    /// <summary>The tensor to read from each chunk when chunks hold several.</summary>
    public string? TensorKey { get; init; }
    /// <summary>
    /// Let the chunk shapes decide the orientation when meta.json does not (the axis that varies
    /// between chunks is tokens). Off, such chunks are read [tokens, features], so a chunk of
    /// another width is an error rather than a transposed read.
    /// </summary>
    public bool OrientationFromShapes { get; init; } = true;
}

/// <summary>
/// A folder of activation or feature chunks written by other tools (.pt, .npy, .npz or .safetensors,
/// optionally with a meta.json of any schema), read as SaeGuard <see cref="RowBlock"/>s. The
/// [tokens, features] orientation is inferred from the chunk shapes and meta.json and reported
/// in <see cref="Orientation"/>; chunks are streamed in natural filename order (chunk2 before
/// chunk10). Token index fields are taken from token_ids / doc_ids / positions tensors in the
/// chunks when present, else zero-filled. Counts stated in meta.json (<see cref="ForeignDumpMeta"/>)
/// are checked against the chunks as read.
/// </summary>
public sealed class ForeignDump
{
    static readonly string[] ChunkExtensions = { ".pt", ".pth", ".npy", ".npz", ".safetensors" };
    static readonly string[] PreferredKeys = { "feats", "features", "acts", "activations", "codes", "sae_feats", "latents", "x", "data", "arr_0" };
    /// <summary>When some files are named like chunks, the others (e.g. feature_stats.npz) are not chunks.</summary>
    static readonly string[] ChunkWords = { "chunk", "shard", "part" };

    sealed record ChunkInfo(string File, string Key, long[] Shape);

    readonly List<ChunkInfo> _chunks;
    readonly ForeignDumpOptions _options;
    public string Dir { get; }
    public IReadOnlyList<string> Chunks => _chunks.Select(c => c.File).ToList();
    public OrientationGuess Orientation { get; }
    public long Rows { get; }
    public int Width { get; }
    /// <summary>meta.json as parsed (null when absent); its schema is not assumed.</summary>
    public JsonNode? Meta { get; }
    /// <summary>The counts meta.json states (checked against the chunks).</summary>
    public ForeignDumpMeta MetaCounts { get; }
    /// <summary>The tensor read from each chunk ("" for a bare tensor or .npy).</summary>
    public string TensorKey => _chunks[0].Key;

    ForeignDump(string dir, List<ChunkInfo> chunks, OrientationGuess guess, JsonNode? meta, ForeignDumpOptions options)
    {
        Dir = dir; _chunks = chunks; Orientation = guess; Meta = meta; _options = options;
        int featAxis = guess.Orientation == DumpOrientation.TokensByFeatures ? 1 : 0;
        Width = (int)Flat(chunks[0].Shape)[featAxis];
        var chunkRows = new List<(string, long)>();
        foreach (var c in chunks)
        {
            var s = Flat(c.Shape);
            if (s[featAxis] != Width)
                throw new UserError($"'{c.File}' has width {s[featAxis]} but '{Path.GetFileName(chunks[0].File)}' has width {Width} (features along axis {featAxis}): chunks disagree.");
            Rows += s[1 - featAxis];
            chunkRows.Add((c.File, s[1 - featAxis]));
        }
        ChunkRows = chunkRows.Select(x => x.Item2).ToList();
        MetaCounts = ForeignDumpMeta.From(meta);
        MetaCounts.Check(Path.Combine(dir, "meta.json"), chunkRows, Rows, Width);
    }

    /// <summary>True when <paramref name="dir"/> is not a SaeGuard dump but holds chunk files this class reads.</summary>
    public static bool LooksLikeForeignDump(string dir)
    {
        if (!Directory.Exists(dir)) return false;
        var meta = Path.Combine(dir, "meta.json");
        if (File.Exists(meta) && new FileInfo(meta).Length <= Data.Formats.JsonBudget.MaxConfigBytes && File.ReadAllText(meta).Contains("\"shards\"")) return false;
        return FindChunks(dir).Count > 0;
    }

    public static ForeignDump Open(string dir, ForeignDumpOptions? options = null)
    {
        options ??= new ForeignDumpOptions();
        if (!Directory.Exists(dir)) throw new UserError($"Dump folder not found: '{dir}'.");
        var files = FindChunks(dir);
        if (files.Count == 0)
            throw new UserError($"'{dir}' holds no chunk files (.pt, .npy, .npz, .safetensors [tokens, features]), and there are no '{Path.GetFileName(Path.TrimEndingDirectorySeparator(dir))}_*' chunks beside it.");
        JsonNode? meta = null;
        var metaPath = Path.Combine(dir, "meta.json");
        if (File.Exists(metaPath))
        {
            meta = Data.Formats.JsonBudget.ParseFile(metaPath);
        }
        var chunks = files.Select(f => Describe(f, options.TensorKey)).ToList();
        var guess = options.Orientation is { } forced
            ? new OrientationGuess(forced, "set by the caller", true)
            : DumpOrientationGuesser.Guess(chunks.Select(c => Flat(c.Shape)).ToList(), meta, chunks[0].Shape.Length, options.OrientationFromShapes);
        return new ForeignDump(dir, chunks, guess, meta, options);
    }

    /// <summary>All rows in chunk order, as [rows ≤ blockRows, Width] blocks.</summary>
    public IEnumerable<RowBlock> ReadBlocks(int blockRows = 8192)
    {
        long row0 = 0;
        for (int i = 0; i < _chunks.Count; i++)
        {
            foreach (var b in ReadChunkBlocks(i, row0, blockRows)) yield return b;
            row0 += ChunkRows[i];
        }
    }

    /// <summary>Rows of each chunk, in chunk order.</summary>
    public IReadOnlyList<long> ChunkRows { get; private set; } = Array.Empty<long>();

    /// <summary>
    /// The rows of one chunk as blocks; row ids count from <paramref name="row0"/>. A [tokens,
    /// features] chunk is streamed from the file (<see cref="ForeignChunkOpener"/>), so memory is
    /// one block; other layouts are read whole and cut.
    /// </summary>
    public IEnumerable<RowBlock> ReadChunkBlocks(int chunk, long row0, int blockRows = 8192)
    {
        var c = _chunks[chunk];
        var opened = Orientation.Orientation == DumpOrientation.TokensByFeatures ? Damaged(c.File, () => ForeignChunkOpener.TryOpen(c.File, c.Key, Width)) : null;
        return opened != null ? StreamBlocks(c, opened, row0, blockRows) : WholeChunkBlocks(c, row0, blockRows);
    }

    IEnumerable<RowBlock> StreamBlocks(ChunkInfo c, ForeignChunkOpener.Opened opened, long row0, int blockRows)
    {
        using var rows = opened.Rows;
        for (long i = 0; i < rows.Rows; i += blockRows)
        {
            int n = (int)Math.Min(blockRows, rows.Rows - i);
            var block = GC.AllocateUninitializedArray<float>(n * Width);
            Damaged(c.File, () =>
            {
                try { rows.ReadNext(n, block); }
                catch (EndOfStreamException) { throw new InvalidDataException($"the data ends before row {i + n} of {rows.Rows:N0}."); }
                return 0;
            });
            yield return Activations.NonFiniteRows.Apply(Block(block, n, row0 + i, opened.Index, (int)i), c.File, i);
        }
    }

    IEnumerable<RowBlock> WholeChunkBlocks(ChunkInfo c, long row0, int blockRows)
    {
        var (data, rows, index) = ReadChunk(c);
        for (int i = 0; i < rows; i += blockRows)
        {
            int n = Math.Min(blockRows, rows - i);
            var block = new float[(long)n * Width];
            Array.Copy(data, (long)i * Width, block, 0, (long)n * Width);
            yield return Activations.NonFiniteRows.Apply(Block(block, n, row0 + i, index, i), c.File, i);
        }
    }

    RowBlock Block(float[] data, int n, long firstRowId, Dictionary<string, int[]> index, int at)
    {
        int[] Slice(string field) => index.TryGetValue(field, out var src) ? src.AsSpan(at, n).ToArray() : new int[n];
        var ids = new long[n];
        for (int r = 0; r < n; r++) ids[r] = firstRowId + r;
        return new RowBlock
        {
            Data = data, Rows = n, D = Width, RowIds = ids,
            DocIds = Slice("doc"), Positions = Slice("pos"), TokenIds = Slice("tok"), IsSpecial = new bool[n],
        };
    }

    /// <summary>Runs a read, turning a damaged file's InvalidDataException into a UserError naming it.</summary>
    static T Damaged<T>(string file, Func<T> read)
    {
        try { return read(); }
        catch (InvalidDataException e) { throw new UserError($"'{file}' is damaged: {e.Message}"); }
        catch (IOException e) when (e is not FileNotFoundException) { throw new UserError($"'{file}' could not be read: {e.Message}"); }
    }

    (float[] Data, int Rows, Dictionary<string, int[]> Index) ReadChunk(ChunkInfo c)
    {
        bool npy = Path.GetExtension(c.File).Equals(".npy", StringComparison.OrdinalIgnoreCase);
        var tensors = npy ? new Dictionary<string, ITensorData>() : LoadTensors(c.File);
        float[] data;
        long[] shape;
        try
        {
            if (npy) (data, shape) = NpyReader.ReadFloat32(c.File); // one copy for the common f4 case
            else
            {
                var t = tensors.TryGetValue(c.Key, out var x) ? x : throw new UserError($"'{c.File}' has no tensor '{c.Key}' (the first chunk had it).");
                (data, shape) = (t.ToFloat32(), t.Shape);
            }
        }
        catch (InvalidDataException e) { throw new UserError($"'{c.File}' is damaged: {e.Message}"); }
        var full = shape;
        shape = Flat(shape);
        int rows;
        if (Orientation.Orientation == DumpOrientation.FeaturesByTokens)
        {
            rows = (int)shape[1];
            data = NamedTensors.Transpose(data, (int)shape[0], rows);
        }
        else rows = (int)shape[0];
        if ((Orientation.Orientation == DumpOrientation.TokensByFeatures ? shape[1] : shape[0]) != Width)
            throw new UserError($"'{c.File}' holds [{string.Join(",", full)}], which does not have {Width} features.");
        var index = new Dictionary<string, int[]>();
        foreach (var (name, tensor) in tensors)
            if (tensor.Elements() == rows) ForeignChunkOpener.AddIndex(index, name, tensor);
        return (data, rows, index);
    }

    /// <summary>A shape as [rows, width]: leading axes of a 3-D+ tensor are flattened into rows.</summary>
    static long[] Flat(long[] shape) => shape.Length switch
    {
        2 => shape,
        > 2 => new[] { shape[..^1].Aggregate(1L, (a, b) => a * b), shape[^1] },
        _ => throw new UserError($"a chunk tensor is [{string.Join(",", shape)}], expected at least 2 dimensions ([tokens, features])."),
    };

    static ChunkInfo Describe(string file, string? wantedKey)
    {
        var tensors = Shapes(file);
        string key;
        if (wantedKey != null)
            key = tensors.ContainsKey(wantedKey) ? wantedKey : throw new UserError($"'{file}' has no tensor '{wantedKey}' (it has: {string.Join(", ", tensors.Keys)}).");
        else
        {
            var matrices = tensors.Where(kv => kv.Value.Shape.Length >= 2 && kv.Value.DType is DType.F32 or DType.F16 or DType.BF16 or DType.F64).ToList();
            if (matrices.Count == 0)
                throw new UserError($"'{file}' holds no floating-point tensor with 2 or more dimensions (it has: {string.Join(", ", tensors.Select(kv => $"{kv.Key} [{string.Join(",", kv.Value.Shape)}]"))}).");
            key = matrices.FirstOrDefault(kv => PreferredKeys.Contains(kv.Key.Split('.')[^1].ToLowerInvariant())).Key
                  ?? matrices.OrderByDescending(kv => ShapeMath.Elements(kv.Value.Shape)).First().Key;
        }
        var shape = tensors[key].Shape;
        if (shape.Length < 2) throw new UserError($"'{file}': tensor '{key}' is [{string.Join(",", shape)}], expected [tokens, features] (or [features, tokens]).");
        return new ChunkInfo(file, key, shape);
    }

    /// <summary>Dtype and shape of each tensor in a chunk, reading only headers where the format allows.</summary>
    static Dictionary<string, (DType DType, long[] Shape)> Shapes(string file)
    {
        try
        {
            switch (Path.GetExtension(file).ToLowerInvariant())
            {
                case ".npy":
                    {
                        var (dtype, shape, _) = NpyReader.ReadInfo(file);
                        return new() { [""] = (dtype, shape) };
                    }
                case ".safetensors":
                    {
                        using var r = new SafeTensorsReader(file);
                        return r.Tensors.ToDictionary(kv => kv.Key, kv => (kv.Value.DType, kv.Value.Shape));
                    }
                case ".npz":
                    {
                        using var z = NpzReader.Open(file);
                        return z.Keys.ToDictionary(k => k, k => { var h = z.Header(k); return (h.DType, h.Shape); });
                    }
                default:
                    return TorchPickleReader.FlattenTensors(TorchPickleReader.LoadLazy(file)).ToDictionary(kv => kv.Key, kv => (kv.Value.DType, kv.Value.Shape));
            }
        }
        catch (InvalidDataException e) { throw new UserError($"'{file}' could not be read: {e.Message}"); }
    }

    static Dictionary<string, ITensorData> LoadTensors(string file)
    {
        try
        {
            return Path.GetExtension(file).ToLowerInvariant() switch
            {
                ".npy" => new Dictionary<string, ITensorData> { [""] = NpyReader.Read(file) },
                ".npz" => NpzReader.ReadAll(file).ToDictionary(kv => kv.Key, kv => (ITensorData)kv.Value),
                ".safetensors" => ReadSafeTensors(file),
                _ => TorchPickleReader.FlattenTensors(TorchPickleReader.Load(file)).ToDictionary(kv => kv.Key, kv => (ITensorData)kv.Value),
            };
        }
        catch (InvalidDataException e) { throw new UserError($"'{file}' could not be read: {e.Message}"); }
    }

    static Dictionary<string, ITensorData> ReadSafeTensors(string file)
    {
        using var r = SafeTensorsReader.OpenMapped(file);
        return r.Tensors.Keys.ToDictionary(k => k, k => (ITensorData)r.ReadTensor(k));
    }

    /// <summary>Chunk files in the folder, or "&lt;folder&gt;_*" chunks beside it, in natural order.</summary>
    static List<string> FindChunks(string dir)
    {
        static bool IsChunk(string f) => ChunkExtensions.Contains(Path.GetExtension(f).ToLowerInvariant());
        var inside = Directory.GetFiles(dir).Where(IsChunk).ToList();
        if (inside.Count == 0)
        {
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
            var parent = Path.GetDirectoryName(full);
            var stem = Path.GetFileName(full) + "_";
            if (parent != null)
                inside = Directory.GetFiles(parent).Where(f => IsChunk(f) && Path.GetFileName(f).StartsWith(stem, StringComparison.Ordinal)).ToList();
        }
        var named = inside.Where(f => ChunkWords.Any(w => Path.GetFileName(f).Contains(w, StringComparison.OrdinalIgnoreCase))).ToList();
        if (named.Count > 0) inside = named;
        inside.RemoveAll(f => Path.GetFileName(f).StartsWith("feature_stats", StringComparison.OrdinalIgnoreCase));
        return inside.OrderBy(f => NaturalKey(Path.GetFileName(f)), StringComparer.Ordinal).ToList();
    }

    /// <summary>Pads digit runs so "chunk2" sorts before "chunk10".</summary>
    static string NaturalKey(string name) => Regex.Replace(name, @"\d+", m => m.Value.TrimStart('0').PadLeft(20, '0'));
}
