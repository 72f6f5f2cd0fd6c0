using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.IO;

namespace SaeGuard.Activations;

/// <summary>
/// Reads a dump folder written by <see cref="DumpWriter"/>: rows in order or in shuffled blocks,
/// the token index, the documents. Validates meta.json against the shards on open.
/// </summary>
public sealed class ActivationDump
{
    public string Dir { get; }
    public DumpMeta Meta { get; }
    public int D => Meta.D;
    public long NTokens => Meta.NTokens;
    readonly long[] _shardStart;
    IReadOnlyList<DocRecord>? _docs;
    string[]? _vocab;

    ActivationDump(string dir, DumpMeta meta)
    {
        Dir = dir; Meta = meta;
        _shardStart = new long[meta.Shards.Count + 1];
        for (int i = 0; i < meta.Shards.Count; i++) _shardStart[i + 1] = _shardStart[i] + meta.Shards[i].Rows;
    }

    public static ActivationDump Open(string dir, bool verifyChecksums = false)
    {
        var meta = DumpMeta.Load(dir);
        if (meta.D <= 0) throw new UserError($"'{dir}/meta.json': d = {meta.D}, expected a positive width.");
        if (meta.Shards.Count == 0) throw new UserError($"'{dir}/meta.json' lists no shards.");
        long sum = 0;
        foreach (var s in meta.Shards)
        {
            var path = Path.Combine(dir, s.File);
            if (!File.Exists(path))
                throw new UserError(meta.MergedFrom == null
                    ? $"'{dir}': shard '{s.File}' listed in meta.json is missing."
                    : $"'{dir}' is a merged dump and its shard '{s.File}' ('{Path.GetFullPath(path)}') is missing: the shard folders must stay where they were when merged (relative paths are resolved from '{dir}'), or merge again.");
            try
            {
                using var r = new SafeTensorsReader(path);
                if (meta.Layout == "sparse_topk")
                {
                    var idx = r.Get("topk_indices");
                    if (idx.Shape.Length != 2 || idx.Shape[0] != s.Rows || idx.Shape[1] != meta.K)
                        throw new UserError($"'{path}': topk_indices is [{string.Join(",", idx.Shape)}], meta.json says [{s.Rows},{meta.K}].");
                }
                else
                {
                    var t = r.Get("acts");
                    if (t.Shape.Length != 2 || t.Shape[0] != s.Rows || t.Shape[1] != meta.D)
                        throw new UserError($"'{path}': tensor 'acts' is [{string.Join(",", t.Shape)}], meta.json says [{s.Rows},{meta.D}].");
                }
            }
            catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
            if (verifyChecksums && !string.IsNullOrEmpty(s.Sha256) && Hashing.Sha256File(path) != s.Sha256)
                throw new UserError($"'{path}': sha256 differs from meta.json (file changed or damaged).");
            sum += s.Rows;
        }
        if (sum != meta.NTokens) throw new UserError($"'{dir}/meta.json': n_tokens = {meta.NTokens} but the shards hold {sum} rows.");
        return new ActivationDump(dir, meta);
    }

    /// <summary>True for a merged dump (SPEC.md "merged acts/"): its shards live in other folders.</summary>
    public bool IsMerged => Meta.MergedFrom != null;

    /// <summary>The file of shard <paramref name="shard"/>: inside the dump, or for a merged dump relative to it or absolute.</summary>
    public string ShardPath(int shard) => Path.Combine(Dir, Meta.Shards[shard].File);

    public IReadOnlyList<DocRecord> Docs => _docs ??= LoadDocs();

    IReadOnlyList<DocRecord> LoadDocs()
    {
        var path = Path.Combine(Dir, "docs.jsonl");
        if (!File.Exists(path)) return Array.Empty<DocRecord>();
        var list = new List<DocRecord>();
        int line = 0;
        foreach (var l in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(l)) continue;
            try
            {
                using var d = JsonDocument.Parse(l);
                var r = d.RootElement;
                string? S(string n) => r.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                list.Add(new DocRecord { Id = r.GetProperty("id").GetInt32(), Text = S("text") ?? "", Label = S("label"), Category = S("category"), Source = S("source") ?? "" });
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new UserError($"'{path}', line {line}: not a valid document record ({e.Message}).");
            }
        }
        return list;
    }

    /// <summary>Token text for a token id, from vocab.json ("" when the dump has none).</summary>
    public string TokenText(int id)
    {
        _vocab ??= File.Exists(Path.Combine(Dir, "vocab.json"))
            ? JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(Dir, "vocab.json"))) ?? Array.Empty<string>()
            : Array.Empty<string>();
        return id >= 0 && id < _vocab.Length ? _vocab[id] : "";
    }

    /// <summary>Reads one whole shard as dense rows.</summary>
    public RowBlock ReadShard(int shard)
    {
        var s = Meta.Shards[shard];
        var path = ShardPath(shard);
        int rows = (int)s.Rows;
        try
        {
            using var r = new SafeTensorsReader(path);
            float[] data;
            if (Meta.Layout == "sparse_topk")
            {
                int k = Meta.K ?? throw new UserError($"'{Dir}/meta.json': sparse layout without k.");
                var idx = r.ReadInts("topk_indices");
                var val = r.ReadFloats("topk_values");
                data = new float[(long)rows * D];
                SparseTopKRows.Scatter(idx, val, rows, k, D, data, path);
            }
            else data = r.ReadFloats("acts");
            var rowIds = new long[rows];
            for (int i = 0; i < rows; i++) rowIds[i] = _shardStart[shard] + i;
            int[] Ints(string n) => r.Tensors.ContainsKey(n) ? r.ReadInts(n) : new int[rows];
            bool[] Flags(string n) => r.Tensors.ContainsKey(n) ? r.ReadInts(n).Select(v => v != 0).ToArray() : new bool[rows];
            return NonFiniteRows.Apply(new RowBlock
            {
                Data = data, Rows = rows, D = D, RowIds = rowIds, DocIds = Ints("doc_id"), Positions = Ints("position"), TokenIds = Ints("token_id"),
                IsSpecial = Flags("is_special"), IsTemplate = Flags("is_template"),
            }, path);
        }
        catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
        catch (IOException e) when (e is not FileNotFoundException) { throw new UserError($"'{path}' could not be read: {e.Message}"); }
    }

    /// <summary>All rows in order, in blocks of at most <paramref name="blockRows"/>.</summary>
    public IEnumerable<RowBlock> ReadBlocks(int blockRows = 8192)
    {
        for (int s = 0; s < Meta.Shards.Count; s++)
        {
            var shard = ReadShard(s);
            for (int i = 0; i < shard.Rows; i += blockRows)
                yield return Slice(shard, Enumerable.Range(i, Math.Min(blockRows, shard.Rows - i)).ToArray());
        }
    }

    /// <summary>
    /// All rows once, shuffled: shards visited in a seeded random order, <paramref name="mixShards"/>
    /// shards pooled at a time and their rows permuted, then cut into blocks.
    /// </summary>
    public IEnumerable<RowBlock> ReadShuffled(int blockRows, int seed, int mixShards = 4)
    {
        var rng = new Random(seed);
        var order = Enumerable.Range(0, Meta.Shards.Count).ToArray();
        rng.Shuffle(order);
        for (int g = 0; g < order.Length; g += mixShards)
        {
            var pooled = order.Skip(g).Take(mixShards).Select(ReadShard).ToList();
            var all = Concat(pooled);
            var perm = Enumerable.Range(0, all.Rows).ToArray();
            rng.Shuffle(perm);
            for (int i = 0; i < perm.Length; i += blockRows)
                yield return Slice(all, perm[i..Math.Min(perm.Length, i + blockRows)]);
        }
    }

    public static RowBlock Slice(RowBlock src, int[] rows)
    {
        int d = src.D;
        var data = new float[(long)rows.Length * d];
        for (int i = 0; i < rows.Length; i++) Array.Copy(src.Data, (long)rows[i] * d, data, (long)i * d, d);
        return new RowBlock
        {
            Data = data, Rows = rows.Length, D = d,
            RowIds = rows.Select(r => src.RowIds[r]).ToArray(),
            DocIds = rows.Select(r => src.DocIds[r]).ToArray(),
            Positions = rows.Select(r => src.Positions[r]).ToArray(),
            TokenIds = rows.Select(r => src.TokenIds[r]).ToArray(),
            IsSpecial = rows.Select(r => src.IsSpecial[r]).ToArray(),
            IsTemplate = rows.Select(r => src.IsTemplate[r]).ToArray(),
        };
    }

    public static RowBlock Concat(IReadOnlyList<RowBlock> blocks)
    {
        if (blocks.Count == 1) return blocks[0];
        int d = blocks[0].D;
        int rows = blocks.Sum(b => b.Rows);
        var data = new float[(long)rows * d];
        long off = 0;
        foreach (var b in blocks) { Array.Copy(b.Data, 0, data, off, (long)b.Rows * d); off += (long)b.Rows * d; }
        return new RowBlock
        {
            Data = data, Rows = rows, D = d,
            RowIds = blocks.SelectMany(b => b.RowIds).ToArray(),
            DocIds = blocks.SelectMany(b => b.DocIds).ToArray(),
            Positions = blocks.SelectMany(b => b.Positions).ToArray(),
            TokenIds = blocks.SelectMany(b => b.TokenIds).ToArray(),
            IsSpecial = blocks.SelectMany(b => b.IsSpecial).ToArray(),
            IsTemplate = blocks.SelectMany(b => b.IsTemplate).ToArray(),
        };
    }
}
