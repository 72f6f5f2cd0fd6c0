using SaeGuard.Common;

namespace SaeGuard.Activations;

/// <summary>Which part of a corpus one worker extracts: shard <see cref="Index"/> of <see cref="Count"/> (0-based).</summary>
public readonly record struct ShardSpec(int Index, int Count)
{
    public static readonly ShardSpec Whole = new(0, 1);

    /// <summary>Parses "i/N" (0 ≤ i &lt; N), e.g. "3/8".</summary>
    public static ShardSpec Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int i) || !int.TryParse(parts[1], out int n))
            throw new UserError($"--shard '{text}': expected i/N, e.g. 0/4 (shard i of N, counted from 0).");
        if (n < 1 || n > 1_000_000) throw new UserError($"--shard '{text}': N = {n}, expected 1 to 1,000,000 shards.");
        if (i < 0 || i >= n) throw new UserError($"--shard '{text}': i = {i}, expected 0 ≤ i < {n} (shards are counted from 0).");
        return new ShardSpec(i, n);
    }

    public override string ToString() => $"{Index}/{Count}";
}

/// <summary>
/// The shard a dump holds, recorded in its meta.json as <c>shard</c>: the marker that makes a
/// finished worker's rerun a no-op and that <c>acts merge</c> checks (same job, every index once).
/// </summary>
public sealed record ShardMark
{
    public int Index { get; init; }
    public int Count { get; init; }
    /// <summary>Corpus index (= doc id) of the shard's first document.</summary>
    public int FirstDoc { get; init; }
    public int Docs { get; init; }
    public long Tokens { get; init; }
    /// <summary>Documents and tokens of the whole corpus (all shards).</summary>
    public int CorpusDocs { get; init; }
    public long CorpusTokens { get; init; }
    /// <summary>Fingerprint of the inputs, model and options: shards of one job share it.</summary>
    public string Job { get; init; } = "";
}

/// <summary>
/// A deterministic split of a corpus into contiguous document ranges balanced on token counts.
/// Document j (with t_j tokens after truncation, starting at token offset c_j = Σ_{i&lt;j} t_i of the
/// corpus' T tokens) goes to shard ⌊c_j·N / T⌋: every worker computes the same ranges from the
/// corpus alone, shards differ by at most one document's tokens from T/N, and shard 0, 1, … in
/// order is the corpus in order, so a merge of the shards is the single-process dump row for row.
/// </summary>
public sealed class ShardPlan
{
    public ShardSpec Spec { get; }
    public int FirstDoc { get; }
    public int Docs { get; }
    public long Tokens { get; }
    public int CorpusDocs { get; }
    public long CorpusTokens { get; }
    /// <summary>Tokens of every shard (for the balance figure).</summary>
    public IReadOnlyList<long> ShardTokens { get; }

    ShardPlan(ShardSpec spec, int first, int docs, long tokens, int corpusDocs, long corpusTokens, long[] shardTokens)
    {
        Spec = spec; FirstDoc = first; Docs = docs; Tokens = tokens; CorpusDocs = corpusDocs; CorpusTokens = corpusTokens; ShardTokens = shardTokens;
    }

    /// <summary>Largest shard's tokens over the mean (1 = perfect balance).</summary>
    public double Imbalance => CorpusTokens == 0 ? 1 : ShardTokens.Max() / ((double)CorpusTokens / Spec.Count);

    /// <summary>
    /// Splits a corpus given each document's token count, in corpus order. With
    /// <paramref name="maxTokens"/> &gt; 0 the corpus is first cut to its first maxTokens tokens
    /// (the last document partly), as a single-process extract with that cap would be.
    /// </summary>
    public static ShardPlan Compute(IEnumerable<int> docTokens, ShardSpec spec, long maxTokens = 0)
    {
        var lengths = new List<int>();
        long total = 0;
        foreach (var t0 in docTokens)
        {
            long t = t0;
            if (maxTokens > 0 && total + t >= maxTokens) t = maxTokens - total;
            if (t <= 0) break;
            lengths.Add((int)t);
            total += t;
            if (maxTokens > 0 && total >= maxTokens) break;
        }
        var shardTokens = new long[spec.Count];
        int first = -1, docs = 0;
        long start = 0, mine = 0;
        for (int j = 0; j < lengths.Count; j++)
        {
            int s = ShardOf(start, total, spec.Count);
            shardTokens[s] += lengths[j];
            if (s == spec.Index) { if (first < 0) first = j; docs++; mine += lengths[j]; }
            start += lengths[j];
        }
        if (first < 0) first = FirstDocAfter(lengths, total, spec);
        return new ShardPlan(spec, first, docs, mine, lengths.Count, total, shardTokens);
    }

    static int ShardOf(long start, long total, int n) => (int)Math.Min(n - 1, (long)((decimal)start * n / total));

    /// <summary>Where an empty shard would start (keeps FirstDoc monotonic across shards).</summary>
    static int FirstDocAfter(List<int> lengths, long total, ShardSpec spec)
    {
        long start = 0;
        for (int j = 0; j < lengths.Count; j++)
        {
            if (ShardOf(start, total, spec.Count) > spec.Index) return j;
            start += lengths[j];
        }
        return lengths.Count;
    }

    public ShardMark Mark(string job) => new()
    {
        Index = Spec.Index, Count = Spec.Count, FirstDoc = FirstDoc, Docs = Docs, Tokens = Tokens,
        CorpusDocs = CorpusDocs, CorpusTokens = CorpusTokens, Job = job,
    };
}
