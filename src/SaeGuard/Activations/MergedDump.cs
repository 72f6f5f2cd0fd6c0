using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Activations;

public sealed record MergeSummary(int Dumps, int Shards, long Tokens, int Docs, long VerifiedBytes, string OutDir);

/// <summary>
/// <c>acts merge</c> (SPEC.md "merged acts/"): one dump over the shards of several dumps without
/// copying a row. Its meta.json lists every input shard by a path relative to the merged folder
/// (or absolute), with rows and the sha256 verified here; docs.jsonl is the inputs' documents
/// concatenated (text only) and vocab.json the shared vocabulary. Rows are in input order (shard
/// dumps of one job: by shard index, which is corpus order); doc ids are kept, and must not overlap.
/// </summary>
public static class MergedDump
{
    /// <summary>The meta.json fields that must agree, with how the message names them.</summary>
    static readonly (string Field, Func<DumpMeta, string> Get)[] MustMatch =
    {
        ("kind", m => m.Kind), ("layout", m => m.Layout), ("model", m => m.Model), ("model_sha256", m => m.ModelSha256),
        ("layer", m => m.Layer.ToString()), ("hook", m => m.Hook), ("d", m => m.D.ToString()), ("dtype", m => m.Dtype),
        ("k", m => m.K?.ToString() ?? "none"), ("max_length", m => m.MaxLength.ToString()),
        ("special_tokens_included", m => m.SpecialTokensIncluded ? "true" : "false"),
        ("tokenizer", m => m.Extra?.GetValueOrDefault("tokenizer") ?? ""),
    };

    public static MergeSummary Merge(IReadOnlyList<string> inputs, string outDir, bool absolutePaths = false)
    {
        if (inputs.Count == 0) throw new UserError("acts merge: give at least one dump folder.");
        var finalOut = Path.GetFullPath(outDir);
        CheckOutput(finalOut, inputs.Select(Path.GetFullPath));
        var dumps = inputs.Select(d => (Dir: Path.GetFullPath(d), Meta: DumpMeta.Load(d))).ToList();
        var first = dumps[0];
        string? vocabHash = null, vocabFrom = null;
        foreach (var (dir, meta) in dumps)
        {
            foreach (var (field, get) in MustMatch)
                if (get(meta) != get(first.Meta))
                    throw new UserError($"acts merge: '{dir}' has {field} = '{get(meta)}' but '{first.Dir}' has '{get(first.Meta)}'; only dumps of one model, layer, hook, width (d), dtype and tokenizer merge.");
            var vocab = Path.Combine(dir, "vocab.json");
            if (!File.Exists(vocab)) continue;
            var h = Hashing.Sha256File(vocab);
            if (vocabHash != null && h != vocabHash)
                throw new UserError($"acts merge: '{vocab}' differs from '{Path.Combine(vocabFrom!, "vocab.json")}' (field tokenizer: the vocabularies are not the same); only dumps of one tokenizer merge.");
            vocabHash ??= h; vocabFrom ??= dir;
        }
        dumps = Order(dumps);
        first = dumps[0];

        var shards = new List<(string Path, ShardInfo Info)>();
        foreach (var (dir, meta) in dumps)
        {
            if (meta.Shards.Count > 0) ActivationDump.Open(dir);   // shapes and row counts
            foreach (var s in meta.Shards) shards.Add((Path.GetFullPath(Path.Combine(dir, s.File)), s));
        }
        long verified = Verify(shards);

        using var tmp = new AtomicDirectory(finalOut);
        int nDocs = CopyDocs(dumps, tmp.File("docs.jsonl"));
        if (vocabFrom != null) File.Copy(Path.Combine(vocabFrom, "vocab.json"), tmp.File("vocab.json"));
        string Ref(string full) => absolutePaths || Path.GetPathRoot(full) != Path.GetPathRoot(finalOut) ? full : Path.GetRelativePath(finalOut, full);
        var merged = first.Meta with
        {
            Shards = shards.Select(s => s.Info with { File = Ref(s.Path) }).ToList(),
            NTokens = dumps.Sum(d => d.Meta.NTokens),
            NDocs = nDocs,
            TruncatedDocs = dumps.Sum(d => d.Meta.TruncatedDocs),
            Shard = null,
            MergedFrom = dumps.Select(d => Ref(d.Dir)).ToList(),
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            ToolVersion = ToolInfo.Version,
        };
        merged.Save(tmp.TempPath);
        tmp.Commit();
        return new MergeSummary(dumps.Count, shards.Count, merged.NTokens, nDocs, verified, finalOut);
    }

    /// <summary>Shard dumps of one job in shard order (every index once); other dumps as given.</summary>
    static List<(string Dir, DumpMeta Meta)> Order(List<(string Dir, DumpMeta Meta)> dumps)
    {
        var marked = dumps.Where(d => d.Meta.Shard != null).ToList();
        if (marked.Count == 0) return dumps;
        if (marked.Count != dumps.Count)
            throw new UserError($"acts merge: '{dumps.First(d => d.Meta.Shard == null).Dir}' is a whole dump but '{marked[0].Dir}' is shard {marked[0].Meta.Shard!.Index}/{marked[0].Meta.Shard!.Count} of a sharded extraction; merge the shards first, then merge the results.");
        var s0 = marked[0].Meta.Shard!;
        foreach (var (dir, meta) in marked)
        {
            if (meta.Shard!.Job != s0.Job)
                throw new UserError($"acts merge: '{dir}' has shard.job = '{meta.Shard.Job}' but '{marked[0].Dir}' has '{s0.Job}': they come from different extractions (inputs, model or options differ).");
            if (meta.Shard.Count != s0.Count)
                throw new UserError($"acts merge: '{dir}' has shard.count = {meta.Shard.Count} but '{marked[0].Dir}' has {s0.Count}.");
        }
        var dup = marked.GroupBy(d => d.Meta.Shard!.Index).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new UserError($"acts merge: shard {dup.Key}/{s0.Count} is given twice ('{string.Join("', '", dup.Select(d => d.Dir))}').");
        var missing = Enumerable.Range(0, s0.Count).Except(marked.Select(d => d.Meta.Shard!.Index)).ToList();
        if (missing.Count > 0)
            throw new UserError($"acts merge: shard(s) {string.Join(", ", missing.Take(10))} of {s0.Count} are missing; give all {s0.Count} shard folders (a worker may not have finished).");
        return marked.OrderBy(d => d.Meta.Shard!.Index).ToList();
    }

    static void CheckOutput(string finalOut, IEnumerable<string> inputs)
    {
        foreach (var input in inputs)
        {
            var a = Path.TrimEndingDirectorySeparator(input) + Path.DirectorySeparatorChar;
            var o = Path.TrimEndingDirectorySeparator(finalOut) + Path.DirectorySeparatorChar;
            if (a.StartsWith(o, StringComparison.Ordinal) || o.StartsWith(a, StringComparison.Ordinal))
                throw new UserError($"acts merge: --out '{finalOut}' is or contains or lies inside the input '{input}'; choose another folder.");
        }
        if (File.Exists(finalOut)) throw new UserError($"acts merge: --out '{finalOut}' is a file; give a folder.");
        if (Directory.Exists(finalOut) && Directory.EnumerateFileSystemEntries(finalOut).Any() && !File.Exists(Path.Combine(finalOut, "meta.json")))
            throw new UserError($"acts merge: --out '{finalOut}' is a non-empty folder that is not a dump; choose another folder.");
    }

    /// <summary>sha256 of every shard against meta.json, several files at a time.</summary>
    static long Verify(List<(string Path, ShardInfo Info)> shards)
    {
        long total = shards.Sum(s => new FileInfo(s.Path).Length);
        using var bar = new ProgressBar("acts merge: verify", total, "B");
        var gate = new object();
        string? bad = null;
        Parallel.ForEach(shards, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Math.Min(4, Environment.ProcessorCount)) }, s =>
        {
            if (string.IsNullOrEmpty(s.Info.Sha256)) return;
            var h = Hashing.Sha256File(s.Path);
            lock (gate)
            {
                if (h != s.Info.Sha256) bad ??= s.Path;
                bar.Advance(new FileInfo(s.Path).Length);
            }
        });
        if (bad != null) throw new UserError($"acts merge: '{bad}': sha256 differs from its meta.json (the file changed or is damaged); re-extract that shard.");
        return total;
    }

    /// <summary>Concatenates the inputs' docs.jsonl in merged order, checking that doc ids never repeat across inputs.</summary>
    static int CopyDocs(List<(string Dir, DumpMeta Meta)> dumps, string outPath)
    {
        var ranges = new List<(int Min, int Max, string Dir)>();
        int n = 0;
        using var w = new StreamWriter(outPath, false, new System.Text.UTF8Encoding(false));
        foreach (var (dir, _) in dumps)
        {
            var path = Path.Combine(dir, "docs.jsonl");
            if (!File.Exists(path)) continue;
            int min = int.MaxValue, max = int.MinValue, line = 0;
            foreach (var l in File.ReadLines(path))
            {
                line++;
                if (string.IsNullOrWhiteSpace(l)) continue;
                int id;
                try { using var doc = JsonDocument.Parse(l); id = doc.RootElement.GetProperty("id").GetInt32(); }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    throw new UserError($"'{path}', line {line}: not a valid document record ({e.Message}).");
                }
                min = Math.Min(min, id); max = Math.Max(max, id);
                w.WriteLine(l);
                n++;
            }
            if (min > max) continue;
            foreach (var r in ranges)
                if (min <= r.Max && r.Min <= max)
                    throw new UserError($"acts merge: doc ids {min}–{max} of '{dir}' overlap doc ids {r.Min}–{r.Max} of '{r.Dir}'; doc ids must be unique in a merged dump. Extract one corpus with --shard i/N (shards keep the corpus index as doc id), or merge dumps of disjoint documents.");
            ranges.Add((min, max, dir));
        }
        return n;
    }
}
