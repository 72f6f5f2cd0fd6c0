using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Models;

namespace SaeGuard.Activations;

public sealed record ExtractOptions
{
    public bool F16 { get; init; } = true;
    /// <summary>Stop after this many token rows (0 = no cap).</summary>
    public long MaxTokens { get; init; }
    /// <summary>Padded tokens per forward batch.</summary>
    public int BatchTokens { get; init; } = 8192;
    public int MaxBatchDocs { get; init; } = 64;
    /// <summary>Documents sorted by length together, so batches carry little padding.</summary>
    public int SortWindow { get; init; } = 1024;
    /// <summary>Token rows a window holds at most (its activations are in memory together).</summary>
    public int WindowRows { get; init; } = 65_536;
    public long MaxShardBytes { get; init; } = 64L << 20;
    /// <summary>Doc id of the first document (a shard keeps the corpus index as doc id).</summary>
    public int FirstDocId { get; init; }
    /// <summary>Tokens expected, for the progress bar's ETA (0 = count documents instead).</summary>
    public long ProgressTokens { get; init; }
    public string ProgressLabel { get; init; } = "extract";
    /// <summary>Recorded in meta.json as <c>shard</c> (see <see cref="ShardedExtraction"/>).</summary>
    public ShardMark? Shard { get; init; }
}

public sealed record ExtractSummary(long Tokens, int Docs, int TruncatedDocs, int Shards, double Seconds, string OutDir)
{
    public double TokensPerSecond => Tokens / Math.Max(1e-9, Seconds);
}

/// <summary>Runs a corpus through an activation source and writes the dump (SPEC.md "acts/").</summary>
public static class Extractor
{
    public static ExtractSummary Run(IActivationSource source, IReadOnlyList<DocRecord> docs, string outDir, ExtractOptions? options = null) =>
        Run(source, docs, outDir, options, docs.Count);

    /// <summary>Streams the documents: memory holds one sort window of them, whatever the corpus size.</summary>
    public static ExtractSummary Run(IActivationSource source, IEnumerable<DocRecord> docs, string outDir, ExtractOptions? options = null, int docCount = 0)
    {
        options ??= new ExtractOptions();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var template = new DumpMeta
        {
            Kind = "activations",
            Model = source.ModelName,
            ModelSha256 = source.ModelSha256,
            Layer = source.Layer,
            Hook = source.Hook,
            MaxLength = source.MaxLength,
            SpecialTokensIncluded = true,
            Extra = source.Info.Where(k => k.Key != ChatTemplateInfo.StringKey).ToDictionary(k => k.Key, k => k.Value),
            ChatTemplate = ChatTemplateInfo.From(source.Info),
        };
        using var writer = new DumpWriter(outDir, template, source.Width, options.F16, 0, options.MaxShardBytes);
        long tokens = 0;
        int truncated = 0, written = 0;
        bool byTokens = options.ProgressTokens > 0;
        using var bar = new ProgressBar(options.ProgressLabel, byTokens ? options.ProgressTokens : docCount, "tok");
        bool capped = false;
        foreach (var (window, toks) in Windows(source, docs, options))
        {
            if (capped) break;
            var acts = new float[window.Length][];
            foreach (var batch in MakeBatches(toks, options))
            {
                var outs = source.Run(batch.Select(i => toks[i]).ToList());
                for (int j = 0; j < batch.Count; j++) acts[batch[j]] = outs[j];
            }
            for (int i = 0; i < window.Length; i++)
            {
                var t = toks[i];
                int n = t.Length;
                if (options.MaxTokens > 0 && tokens + n >= options.MaxTokens) { n = (int)(options.MaxTokens - tokens); capped = true; }
                if (n <= 0) break;
                var doc = window[i] with { Id = options.FirstDocId + written };
                writer.AddDoc(doc);
                writer.AddRows(doc.Id, acts[i].AsSpan(0, n * source.Width), t.Ids.AsSpan(0, n), t.IsSpecial.AsSpan(0, n), 0, t.IsTemplate.AsSpan(0, t.IsTemplate == null ? 0 : n));
                if (t.Truncated) truncated++;
                tokens += n;
                written++;
                bar.Advance(byTokens ? n : 1, n);
                if (capped) break;
            }
        }
        var meta = writer.Complete(source.TokenText, source.VocabSize, m => m with { TruncatedDocs = truncated, Shard = options.Shard });
        return new ExtractSummary(tokens, written, truncated, meta.Shards.Count, sw.Elapsed.TotalSeconds, outDir);
    }

    /// <summary>Documents with their tokens, cut into windows of at most SortWindow documents and about WindowRows tokens.</summary>
    public static IEnumerable<(DocRecord[] Docs, TokenizedText[] Tokens)> Windows(IActivationSource source, IEnumerable<DocRecord> docs, ExtractOptions o)
    {
        var d = new List<DocRecord>(); var t = new List<TokenizedText>();
        long rows = 0;
        foreach (var doc in docs)
        {
            var tok = source.Tokenize(doc.Text);
            d.Add(doc); t.Add(tok); rows += tok.Length;
            if (d.Count >= o.SortWindow || rows >= o.WindowRows) { yield return (d.ToArray(), t.ToArray()); d.Clear(); t.Clear(); rows = 0; }
        }
        if (d.Count > 0) yield return (d.ToArray(), t.ToArray());
    }

    /// <summary>Groups document indices by length so each batch stays under the padded-token budget.</summary>
    public static List<List<int>> MakeBatches(IReadOnlyList<TokenizedText> toks, ExtractOptions o)
    {
        var order = Enumerable.Range(0, toks.Count).OrderBy(i => toks[i].Length).ToList();
        var batches = new List<List<int>>();
        var cur = new List<int>();
        int maxLen = 0;
        foreach (var i in order)
        {
            int len = toks[i].Length;
            int newMax = Math.Max(maxLen, len);
            if (cur.Count > 0 && (newMax * (cur.Count + 1) > o.BatchTokens || cur.Count >= o.MaxBatchDocs))
            {
                batches.Add(cur); cur = new List<int>(); newMax = len;
            }
            cur.Add(i); maxLen = newMax;
        }
        if (cur.Count > 0) batches.Add(cur);
        return batches;
    }
}
