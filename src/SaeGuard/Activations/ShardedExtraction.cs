using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Models;

namespace SaeGuard.Activations;

/// <summary>What a (possibly sharded) extraction did; <see cref="AlreadyDone"/> when the shard's marker was found.</summary>
public sealed record ShardedExtractSummary(ExtractSummary Extract, ShardPlan Plan, bool AlreadyDone);

/// <summary>
/// One worker of a sharded extraction (SPEC.md <c>extract --shard i/N</c>): plans the split from
/// the corpus' token counts, skips the work when OUT already holds this shard of this job, else
/// removes what a killed earlier run left and extracts the shard from scratch (the dump appears
/// atomically, so a shard is either complete or absent).
/// </summary>
public static class ShardedExtraction
{
    /// <param name="source">The model that produces the rows.</param>
    /// <param name="corpus">Opens the corpus afresh (it is read twice: to plan, then to extract).</param>
    /// <param name="outDir">The shard's dump folder.</param>
    /// <param name="shard">Which shard of how many (null = the whole corpus).</param>
    /// <param name="job">Fingerprint of inputs, model and options (see <see cref="JobKey"/>).</param>
    /// <param name="options">Batching, threads and limits of the extraction.</param>
    public static ShardedExtractSummary Run(IActivationSource source, Func<IEnumerable<DocRecord>> corpus, string outDir,
        ShardSpec? shard, string job, ExtractOptions? options = null)
    {
        options ??= new ExtractOptions();
        var spec = shard ?? ShardSpec.Whole;
        var plan = ShardPlan.Compute(corpus().Select(d => source.Tokenize(d.Text).Length), spec, options.MaxTokens);
        if (shard != null && IsDone(outDir, plan.Mark(job), out var meta))
            return new ShardedExtractSummary(new ExtractSummary(meta.NTokens, meta.NDocs, meta.TruncatedDocs, meta.Shards.Count, 0, outDir), plan, true);
        if (shard != null) RemoveLeftovers(outDir);
        var docs = corpus().Skip(plan.FirstDoc).Take(plan.Docs);
        var o = options with
        {
            FirstDocId = plan.FirstDoc,
            MaxTokens = options.MaxTokens > 0 ? plan.Tokens : 0,
            ProgressTokens = plan.Tokens,
            ProgressLabel = shard == null ? "extract" : $"extract shard {spec}",
            Shard = shard == null ? null : plan.Mark(job),
        };
        var summary = Extractor.Run(source, docs, outDir, o);
        return new ShardedExtractSummary(summary, plan, false);
    }

    /// <summary>True when OUT/meta.json (written last, atomically) records this very shard of this job.</summary>
    public static bool IsDone(string outDir, ShardMark want, out DumpMeta meta)
    {
        meta = null!;
        if (!File.Exists(Path.Combine(outDir, "meta.json"))) return false;
        try { meta = DumpMeta.Load(outDir); }
        catch (UserError) { return false; }
        return meta.Shard is { } s && s == want;
    }

    /// <summary>Temporary siblings (<c>.NAME.tmp-*</c>) a killed run of this shard left behind.</summary>
    static void RemoveLeftovers(string outDir)
    {
        var full = Path.GetFullPath(outDir);
        var parent = Path.GetDirectoryName(full);
        if (parent == null || !Directory.Exists(parent)) return;
        foreach (var d in Directory.EnumerateDirectories(parent, $".{Path.GetFileName(full)}.tmp-*"))
        {
            try { Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A stable fingerprint of what defines a sharded job: input files (content), model, layer and options.</summary>
    public static string JobKey(IEnumerable<string> inputFiles, IActivationSource source, params string[] options)
    {
        var parts = new List<string>();
        foreach (var f in inputFiles)
        {
            if (!File.Exists(f)) throw new UserError($"Input file not found: '{f}'.");
            parts.Add(Hashing.Sha256File(f));
        }
        parts.Add(source.ModelSha256); parts.Add(source.ModelName); parts.Add(source.Layer.ToString()); parts.Add(source.Hook);
        parts.Add(source.MaxLength.ToString());
        parts.AddRange(options);
        return Hashing.Sha256(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", parts)))[..16];
    }
}
