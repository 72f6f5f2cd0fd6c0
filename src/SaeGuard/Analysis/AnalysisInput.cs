using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Interop;
using SaeGuard.IO;
using SaeGuard.Sae;

namespace SaeGuard.Analysis;

/// <summary>What is known about the input apart from its values (for the AXIS checks and the report).</summary>
public sealed record InputFacts
{
    /// <summary>"codes dump", "activations dump", "foreign dump" or "activations + SAE".</summary>
    public string Source { get; init; } = "codes";
    public string Path { get; init; } = "";
    /// <summary>meta.json's kind for SaeGuard dumps ("codes" / "activations").</summary>
    public string? MetaKind { get; init; }
    public long? MetaTokens { get; init; }
    public long? MetaWidth { get; init; }
    /// <summary>meta.json's counts say the chunks are stored [features, tokens] (foreign dumps are then read transposed).</summary>
    public bool TransposedPerMeta { get; init; }
    /// <summary>How a foreign dump's axes were read, with the evidence (null for SaeGuard dumps).</summary>
    public string? Orientation { get; init; }
    public long Rows { get; init; }
    public int Width { get; init; }
    public bool SpecialTokensSkipped { get; init; }
    /// <summary>Where the SAE encoded the activations ("cpu", "ilgpu-cpu", "cuda:0 …"); null without an SAE.</summary>
    public string? Device { get; init; }
}

/// <summary>
/// The rows to analyse: a SaeGuard codes dump, a foreign chunk folder, or an activations dump
/// encoded on the fly by an SAE. Streams blocks (special tokens skipped unless asked) and knows
/// each token's document group (label or source) for colouring the PCA.
/// </summary>
public sealed class AnalysisInput
{
    public required InputFacts Facts { get; init; }
    /// <summary>Width of the codes (d_sae with an SAE).</summary>
    public required int Width { get; init; }
    /// <summary>Tokens expected (before skipping special tokens), for progress.</summary>
    public long ExpectedRows { get; init; }
    /// <summary>True when reading twice is cheap (a stored dump, not an SAE encode).</summary>
    public required bool Replayable { get; init; }
    public SaeModel? Sae { get; init; }
    /// <summary>The folder the SAE was loaded from (analyze reads eval's eval_summary.json there).</summary>
    public string? SaeDir { get; init; }
    public SaeEncodingPass? Encoder { get; init; }
    /// <summary>
    /// The rows in blocks of at most the given size; callable again for a second pass when
    /// <see cref="Replayable"/>. Streamed: a block's arrays may be reused by the next block, so copy what you keep.
    /// </summary>
    public required Func<int, IEnumerable<RowBlock>> Blocks { get; init; }
    /// <summary>Doc id → group name for colouring ("harmful"/"benign", or the source), or null when unknown.</summary>
    public Func<int, string?> DocGroup { get; init; } = _ => null;
    public string GroupKind { get; init; } = "";
    /// <summary>Doc id → category (DocRecord.Category: Galtea clusters, the built-in harm categories…), or null when no document has one.</summary>
    public Func<int, string?>? DocCategory { get; init; }
    /// <summary>Token id → text (a SaeGuard dump's vocab.json), or null when unknown; feeds the feature labels.</summary>
    public Func<int, string>? TokenText { get; init; }

    /// <summary>
    /// How analyze reads foreign chunk folders: [tokens, features] unless meta.json says otherwise,
    /// so a chunk of another width is an error, and a transposed matrix without such a meta.json
    /// is left for the AXIS statistics to find rather than silently turned.
    /// </summary>
    public static ForeignDumpOptions ForeignOptions { get; } = new() { OrientationFromShapes = false };

    public static bool IsSaeGuardDump(string dir)
    {
        var meta = Path.Combine(dir, "meta.json");
        if (!File.Exists(meta)) return false;
        try { return JsonNode.Parse(File.ReadAllText(meta)) is JsonObject o && o["shards"] is JsonArray && o["format_version"] != null; }
        catch (System.Text.Json.JsonException) { return false; }
    }

    /// <param name="dumpDir">A SaeGuard dump (activations or codes) or a folder of foreign chunks.</param>
    /// <param name="saeDir">An SAE folder: the dump is then activations, encoded on the fly (null: the dump is codes).</param>
    /// <param name="includeSpecial">Keep special and chat-template tokens (left out by default).</param>
    /// <param name="seed">Seed of the token sample.</param>
    /// <param name="device">With an SAE: where it encodes (cpu | cuda | ilgpu-cpu | auto; null = cpu).</param>
    public static AnalysisInput Open(string dumpDir, string? saeDir = null, bool includeSpecial = false, int seed = 0, string? device = null)
    {
        if (!Directory.Exists(dumpDir)) throw new UserError($"Dump folder not found: '{dumpDir}'.");
        if (!Directory.EnumerateFileSystemEntries(dumpDir).Any()) throw new UserError($"Dump folder '{dumpDir}' is empty: expected meta.json and shard or chunk files.");
        var sae = saeDir != null ? SaeLensFormat.Load(saeDir) : null;
        AnalysisInput raw = IsSaeGuardDump(dumpDir) ? OpenOurs(dumpDir, includeSpecial, sae != null) : OpenForeign(dumpDir);
        if (sae == null) return raw;
        if (raw.Width != sae.DIn)
            throw new UserError($"'{dumpDir}' has width {raw.Width} but the SAE in '{saeDir}' expects d_in = {sae.DIn}: with --sae, --dump must hold the activations the SAE reads (if the matrix is transposed, its rows are not tokens).");
        var enc = new SaeEncodingPass(sae, seed, device);
        return new AnalysisInput
        {
            Facts = raw.Facts with { Source = "activations + SAE", Width = sae.DSae, Device = enc.Device },
            Width = sae.DSae, ExpectedRows = raw.ExpectedRows, Replayable = false, Sae = sae, SaeDir = saeDir, Encoder = enc,
            Blocks = n => enc.Encode(raw.Blocks(n)), DocGroup = raw.DocGroup, GroupKind = raw.GroupKind,
            DocCategory = raw.DocCategory, TokenText = raw.TokenText,
        };
    }

    static AnalysisInput OpenOurs(string dir, bool includeSpecial, bool withSae)
    {
        var dump = ActivationDump.Open(dir);
        var meta = dump.Meta;
        if (withSae && meta.Kind == "codes")
            throw new UserError($"'{dir}' holds SAE codes (meta.json kind = codes); --sae needs the activations dump the SAE should encode. Drop --sae to analyse the codes as they are.");
        var docs = dump.Docs;
        var (group, kind) = DocGroups(docs);
        return new AnalysisInput
        {
            Facts = new InputFacts
            {
                Source = meta.Kind == "codes" ? "codes dump" : "activations dump", Path = dir, MetaKind = meta.Kind,
                MetaTokens = meta.NTokens, MetaWidth = meta.D, Rows = meta.NTokens, Width = meta.D, SpecialTokensSkipped = !includeSpecial,
            },
            Width = meta.D, ExpectedRows = meta.NTokens, Replayable = true,
            Blocks = n => ReadDump(dump, n, includeSpecial), DocGroup = group, GroupKind = kind,
            DocCategory = DocCategories(docs),
            TokenText = File.Exists(Path.Combine(dir, "vocab.json")) ? dump.TokenText : null,
        };
    }

    static AnalysisInput OpenForeign(string dir)
    {
        var f = ForeignDump.Open(dir, ForeignOptions);
        return new AnalysisInput
        {
            Facts = new InputFacts
            {
                Source = "foreign dump", Path = dir, MetaTokens = f.MetaCounts.Tokens, MetaWidth = f.MetaCounts.Width,
                TransposedPerMeta = f.Orientation.Orientation == DumpOrientation.FeaturesByTokens,
                Orientation = f.Orientation.ToString(), Rows = f.Rows, Width = f.Width,
            },
            Width = f.Width, ExpectedRows = f.Rows, Replayable = true, Blocks = n => f.ReadBlocks(n),
        };
    }

    static Func<int, string?>? DocCategories(IReadOnlyList<DocRecord> docs)
    {
        var byId = new Dictionary<int, string>();
        foreach (var d in docs) if (!string.IsNullOrWhiteSpace(d.Category)) byId[d.Id] = d.Category!;
        if (byId.Count == 0) return null;
        return id => byId.TryGetValue(id, out var c) ? c : null;
    }

    static (Func<int, string?>, string) DocGroups(IReadOnlyList<DocRecord> docs)
    {
        if (docs.Count == 0) return (_ => null, "");
        var byId = new Dictionary<int, DocRecord>();
        foreach (var d in docs) byId[d.Id] = d;
        if (docs.Any(d => !string.IsNullOrEmpty(d.Label)))
            return (id => byId.TryGetValue(id, out var d) ? d.Label ?? "unlabelled" : null, "label");
        if (docs.Select(d => d.Source).Distinct().Count() > 1)
            return (id => byId.TryGetValue(id, out var d) ? (string.IsNullOrEmpty(d.Source) ? "unknown" : d.Source) : null, "source");
        return (_ => null, "");
    }

    /// <summary>Rows of a SaeGuard dump in blocks (dense or sparse top-k shards), read a block at a time.</summary>
    static IEnumerable<RowBlock> ReadDump(ActivationDump dump, int blockRows, bool includeSpecial)
    {
        long first = 0;
        int d = dump.D;
        var reader = new FloatRowReader();
        foreach (var shard in dump.Meta.Shards)
        {
            var path = Path.Combine(dump.Dir, shard.File);
            SafeTensorsReader r;
            try { r = new SafeTensorsReader(path); }
            catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
            using (r)
            {
                int rows = (int)shard.Rows;
                int[] Ints(string n) => r.Tensors.ContainsKey(n) ? r.ReadInts(n) : new int[rows];
                var docIds = Ints("doc_id"); var pos = Ints("position"); var tok = Ints("token_id");
                var special = Ints("is_special");
                for (int r0 = 0; r0 < rows; r0 += blockRows)
                {
                    int n = Math.Min(blockRows, rows - r0);
                    float[] data;
                    try { data = dump.Meta.Layout == "sparse_topk" ? ReadSparse(r, dump, r0, n, path, reader) : reader.Read(r, r.Get("acts"), r0, n, d); }
                    catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
                    var ids = new long[n];
                    for (int i = 0; i < n; i++) ids[i] = first + r0 + i;
                    var block = new RowBlock
                    {
                        Data = data, Rows = n, D = d, RowIds = ids,
                        DocIds = docIds[r0..(r0 + n)], Positions = pos[r0..(r0 + n)], TokenIds = tok[r0..(r0 + n)],
                        IsSpecial = special[r0..(r0 + n)].Select(v => v != 0).ToArray(),
                    };
                    block = NonFiniteRows.Apply(block, path, r0);
                    yield return includeSpecial ? block : block.WithoutSpecial();
                }
                first += rows;
            }
        }
    }

    static float[] ReadSparse(SafeTensorsReader r, ActivationDump dump, int row0, int rows, string path, FloatRowReader buffers)
    {
        int k = dump.Meta.K ?? throw new UserError($"'{dump.Dir}/meta.json': sparse layout without k.");
        int d = dump.D;
        var idxInfo = r.Get("topk_indices");
        var idx = new int[rows * k];
        if (idxInfo.DType == DType.I32) r.ReadBytes(idxInfo, (long)row0 * k * 4, MemoryMarshal.AsBytes(idx.AsSpan()));
        else throw new UserError($"'{path}': topk_indices is {idxInfo.DType}, expected I32.");
        var val = new float[rows * k];
        r.ReadFloatRows("topk_values", row0, rows, val);
        var data = buffers.Buffer((long)rows * d);
        SparseTopKRows.Scatter(idx, val, rows, k, d, data, path, row0);
        return data;
    }
}

/// <summary>
/// Reads rows of a 2-D safetensors tensor as float32 into buffers reused from block to block
/// (one per block size: a dump's blocks come in two or three sizes), so streaming allocates nothing.
/// </summary>
sealed class FloatRowReader
{
    readonly Dictionary<long, float[]> _bufs = new();
    byte[]? _raw;

    public float[] Buffer(long count)
    {
        if (!_bufs.TryGetValue(count, out var b))
        {
            if (_bufs.Count >= 4) _bufs.Clear();
            _bufs[count] = b = new float[count];
        }
        return b;
    }

    public float[] Read(SafeTensorsReader r, TensorInfo t, long row0, int rows, int width)
    {
        long count = (long)rows * width;
        var buf = Buffer(count);
        int es = DTypes.Size(t.DType);
        long offset = row0 * width * es;
        if (t.DType == DType.F32) r.ReadBytes(t, offset, MemoryMarshal.AsBytes(buf.AsSpan()));
        else
        {
            if (_raw == null || _raw.LongLength < count * es) _raw = new byte[count * es];
            r.ReadBytes(t, offset, _raw.AsSpan(0, (int)(count * es)));
            DTypes.ToFloat(t.DType, _raw.AsSpan(0, (int)(count * es)), buf);
        }
        return buf;
    }
}
