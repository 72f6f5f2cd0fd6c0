using SaeGuard.Common;

namespace SaeGuard.Data.Mixing;

/// <summary>What a source contributed: documents read, dropped as duplicates, available and taken.</summary>
public sealed record SourceReport(string Name, double TargetShare, int Read, int Duplicates, long AvailableTokens, int Taken, long TakenTokens);

public sealed record MixResult(IReadOnlyList<DocRecord> Docs, int[] Tokens, SourceTable Table, IReadOnlyList<SourceReport> Sources, long Total);

/// <summary>
/// Builds a corpus from a recipe: reads every source, drops duplicates, counts tokens, then takes
/// from each source a seeded random sample whose size meets its share — exactly by examples, or by
/// tokens to within one document — and shuffles the result with the seed.
/// </summary>
public static class CorpusMixer
{
    public static MixResult Mix(MixRecipe recipe, TokenCounter counter, int threads = 0)
    {
        var raw = recipe.Sources.Select(ReadSource).ToList();
        var (pools, removed) = Deduplicator.Run(raw, recipe.Dedup);
        var all = pools.SelectMany(p => p).Select(d => d.Text).ToList();
        var flat = counter.CountAll(all, "count tokens", threads);
        var tokens = new List<int[]>();
        int at = 0;
        foreach (var p in pools) { tokens.Add(flat[at..(at + p.Count)]); at += p.Count; }

        double wsum = recipe.Sources.Sum(s => s.Share);
        var shares = recipe.Sources.Select(s => s.Share / wsum).ToArray();
        var avail = pools.Select((p, i) => recipe.By == ShareUnit.Examples ? p.Count : tokens[i].Sum(t => (long)t)).ToArray();
        double largest = avail.Select((a, i) => a / shares[i]).Min();
        long total = recipe.Total ?? (long)Math.Floor(largest * (1 + 1e-12));
        // By tokens with no total, each source aims at its exact share of the largest total, so the limiting source is taken whole.
        double tokenTotal = recipe.Total ?? largest;
        if (total <= 0) throw new UserError("The mix would be empty: some source has no documents left after deduplication.");

        var quotas = Quotas(total, shares);
        var picked = new List<(DocRecord Doc, int Tokens)>();
        var reports = new List<SourceReport>();
        for (int s = 0; s < pools.Count; s++)
        {
            var order = Enumerable.Range(0, pools[s].Count).ToArray();
            new Random(unchecked(recipe.Seed * 1_000_003 + s)).Shuffle(order);
            var take = recipe.By == ShareUnit.Examples
                ? TakeExamples(order, quotas[s], recipe.Sources[s], avail[s])
                : TakeTokens(order, tokens[s], shares[s] * tokenTotal, recipe.Sources[s], avail[s]);
            foreach (var i in take) picked.Add((pools[s][i], tokens[s][i]));
            reports.Add(new SourceReport(recipe.Sources[s].Name, shares[s], raw[s].Count, removed[s], tokens[s].Sum(t => (long)t),
                take.Count, take.Sum(i => (long)tokens[s][i])));
        }
        new Random(recipe.Seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(picked));
        var docs = picked.Select((p, i) => p.Doc with { Id = i }).ToList();
        var counts = picked.Select(p => p.Tokens).ToArray();
        return new MixResult(docs, counts, new SourceTable(docs, counts, recipe.Sources.Select(x => x.Name)), reports, total);
    }

    static List<DocRecord> ReadSource(MixSource s)
    {
        var docs = new List<DocRecord>();
        foreach (var path in s.Paths)
        {
            var rows = CorpusReader.Read(path, s.Read).Select(d => d with { Source = s.Name });
            docs.AddRange(s.MaxDocs > 0 ? rows.Take(s.MaxDocs) : rows);
        }
        Console.Error.WriteLine($"data mix: read {docs.Count:N0} documents for '{s.Name}' from {string.Join(", ", s.Paths.Select(Path.GetFileName))}");
        return docs;
    }

    /// <summary>Example counts per source summing to <paramref name="total"/> (largest remainders).</summary>
    public static long[] Quotas(long total, double[] shares)
    {
        var exact = shares.Select(s => s * total).ToArray();
        var q = exact.Select(e => (long)Math.Floor(e)).ToArray();
        long left = total - q.Sum();
        foreach (var i in Enumerable.Range(0, shares.Length).OrderByDescending(i => exact[i] - q[i]).ThenBy(i => i).Take((int)left)) q[i]++;
        return q;
    }

    static List<int> TakeExamples(int[] order, long quota, MixSource s, long avail)
    {
        if (quota > avail)
            throw new UserError($"Source '{s.Name}' has {avail:N0} documents after deduplication but its share ({s.Share}) of the total needs {quota:N0}; lower 'total' or omit it to get the largest mix the sources allow.");
        return order.Take((int)quota).ToList();
    }

    /// <summary>
    /// Documents in shuffled order while they fit under the token target; one that would overshoot
    /// is skipped and later, shorter ones fill the gap, so the source lands within one document of it.
    /// </summary>
    static List<int> TakeTokens(int[] order, int[] tokens, double target, MixSource s, long avail)
    {
        if (target > avail + 0.5)
            throw new UserError($"Source '{s.Name}' has {avail:N0} tokens after deduplication but its share ({s.Share}) of the total needs {target:N0}; lower 'total' or omit it to get the largest mix the sources allow.");
        var take = new List<int>();
        long sum = 0;
        foreach (var i in order)
        {
            if (sum + tokens[i] > target + 0.5) continue;
            take.Add(i);
            sum += tokens[i];
        }
        return take;
    }
}
