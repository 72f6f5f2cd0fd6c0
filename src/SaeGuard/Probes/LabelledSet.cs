using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.IO;

namespace SaeGuard.Probes;

/// <summary>A labelled prompt of one of the input dumps.</summary>
public sealed record LabelledPrompt
{
    public int Dump { get; init; }
    public int DocId { get; init; }
    /// <summary>1 = harmful, 0 = benign.</summary>
    public int Label { get; init; }
    public string? Category { get; init; }
    public string Source { get; init; } = "";
    public string Text { get; init; } = "";
    /// <summary>Non-special tokens of the prompt.</summary>
    public int Tokens { get; init; }
}

public sealed record SelectionOptions
{
    /// <summary>Equal harmful and benign counts (the larger class downsampled, seeded).</summary>
    public bool Balance { get; init; } = true;
    /// <summary>Equal class counts within each token-length bin, so length cannot separate the classes.</summary>
    public bool MatchLength { get; init; }
    /// <summary>At most this many prompts per class (0 = no cap).</summary>
    public int MaxPerClass { get; init; }
    public int Seed { get; init; }
}

/// <summary>What was available and what was kept, for metrics.json.</summary>
public sealed record SelectionReport
{
    public int HarmfulAvailable { get; init; }
    public int BenignAvailable { get; init; }
    public int Unlabelled { get; init; }
    public int EmptyPrompts { get; init; }
    public int HarmfulUsed { get; init; }
    public int BenignUsed { get; init; }
    public bool Balanced { get; init; }
    public bool LengthMatched { get; init; }
    public double MedianTokensHarmfulAvailable { get; init; }
    public double MedianTokensBenignAvailable { get; init; }
    public double MedianTokensHarmful { get; init; }
    public double MedianTokensBenign { get; init; }
    /// <summary>How well token count alone separates the kept classes: max(AUROC, 1 − AUROC); 0.5 = not at all.</summary>
    public double LengthAuroc { get; init; }
    public double LengthAurocAvailable { get; init; }
    public Dictionary<string, SourceCount> BySource { get; init; } = new();
}

public sealed record SourceCount(string Label, int Available, int Used);

/// <summary>
/// Collects the labelled prompts of one or more dumps (labels from docs.jsonl, overridden by
/// <see cref="LabelRules"/>) and draws the balanced, optionally length-matched training set.
/// </summary>
public static class LabelledSet
{
    public static List<LabelledPrompt> Collect(IReadOnlyList<ActivationDump> dumps, IReadOnlyList<LabelRule> rules, out int unlabelled, out int empty)
    {
        var list = new List<LabelledPrompt>();
        unlabelled = 0; empty = 0;
        for (int d = 0; d < dumps.Count; d++)
        {
            var counts = NonSpecialTokenCounts(dumps[d]);
            foreach (var doc in dumps[d].Docs)
            {
                var (label, category) = LabelRules.Apply(rules, doc);
                if (label == null) { unlabelled++; continue; }
                int tokens = doc.Id >= 0 && doc.Id < counts.Length ? counts[doc.Id] : 0;
                if (tokens == 0) { empty++; continue; }
                list.Add(new LabelledPrompt
                {
                    Dump = d, DocId = doc.Id, Label = Labels.ToInt(label), Category = category,
                    Source = doc.Source, Text = doc.Text, Tokens = tokens,
                });
            }
        }
        return list;
    }

    public static (List<LabelledPrompt> Kept, SelectionReport Report) Select(List<LabelledPrompt> all, SelectionOptions o, int unlabelled = 0, int empty = 0)
    {
        var rng = new Random(o.Seed);
        var harmful = all.Where(p => p.Label == 1).ToList();
        var benign = all.Where(p => p.Label == 0).ToList();
        List<LabelledPrompt> kh, kb;
        if (o.MatchLength)
        {
            kh = new(); kb = new();
            var bins = all.Select(p => LengthBin(p.Tokens)).Distinct().Order();
            foreach (var bin in bins)
            {
                var h = Shuffled(harmful.Where(p => LengthBin(p.Tokens) == bin), rng);
                var b = Shuffled(benign.Where(p => LengthBin(p.Tokens) == bin), rng);
                int n = Math.Min(h.Count, b.Count);
                kh.AddRange(h.Take(n)); kb.AddRange(b.Take(n));
            }
        }
        else
        {
            kh = Shuffled(harmful, rng);
            kb = Shuffled(benign, rng);
            if (o.Balance)
            {
                int n = Math.Min(kh.Count, kb.Count);
                kh = kh.Take(n).ToList(); kb = kb.Take(n).ToList();
            }
        }
        if (o.MaxPerClass > 0)
        {
            // Length-matched sets keep their per-bin balance: drop a random subset of bins' pairs.
            if (o.MatchLength && kh.Count > o.MaxPerClass)
            {
                var pairs = Shuffled(Enumerable.Range(0, kh.Count), rng).Take(o.MaxPerClass).Order().ToList();
                kh = pairs.Select(i => kh[i]).ToList(); kb = pairs.Select(i => kb[i]).ToList();
            }
            kh = kh.Take(o.MaxPerClass).ToList(); kb = kb.Take(o.MaxPerClass).ToList();
        }
        // Keep input order (dump, doc) so that runs are easy to compare.
        var kept = kh.Concat(kb).OrderBy(p => p.Dump).ThenBy(p => p.DocId).ToList();
        var report = new SelectionReport
        {
            HarmfulAvailable = harmful.Count, BenignAvailable = benign.Count,
            Unlabelled = unlabelled, EmptyPrompts = empty,
            HarmfulUsed = kh.Count, BenignUsed = kb.Count,
            Balanced = o.Balance || o.MatchLength, LengthMatched = o.MatchLength,
            MedianTokensHarmfulAvailable = Median(harmful), MedianTokensBenignAvailable = Median(benign),
            MedianTokensHarmful = Median(kh), MedianTokensBenign = Median(kb),
            LengthAuroc = LengthAuroc(kept), LengthAurocAvailable = LengthAuroc(all),
            BySource = all.GroupBy(p => (p.Source, p.Label)).OrderBy(g => g.Key.Source).ToDictionary(
                g => g.Key.Source + (all.Any(p => p.Source == g.Key.Source && p.Label != g.Key.Label) ? "/" + LabelName(g.Key.Label) : ""),
                g => new SourceCount(LabelName(g.Key.Label), g.Count(), kept.Count(p => p.Source == g.Key.Source && p.Label == g.Key.Label))),
        };
        return (kept, report);
    }

    public static string LabelName(int label) => Labels.FromInt(label);

    /// <summary>Token-length bins about 20% wide (1, 2, 3, 4, 5, 6, 7–8, 9–10, …).</summary>
    public static int LengthBin(int tokens) => (int)Math.Floor(Math.Log(Math.Max(1, tokens)) / Math.Log(1.2));

    static double LengthAuroc(IReadOnlyList<LabelledPrompt> ps)
    {
        if (!ps.Any(p => p.Label == 1) || !ps.Any(p => p.Label == 0)) return double.NaN;
        var a = BinaryMetrics.Auroc(ps.Select(p => (double)p.Tokens).ToArray(), ps.Select(p => p.Label).ToArray());
        return Math.Max(a, 1 - a);
    }

    static double Median(IReadOnlyList<LabelledPrompt> ps)
    {
        if (ps.Count == 0) return double.NaN;
        var t = ps.Select(p => p.Tokens).Order().ToArray();
        return t.Length % 2 == 1 ? t[t.Length / 2] : (t[t.Length / 2 - 1] + t[t.Length / 2]) / 2.0;
    }

    static List<T> Shuffled<T>(IEnumerable<T> items, Random rng)
    {
        var arr = items.ToArray();
        rng.Shuffle(arr);
        return arr.ToList();
    }

    /// <summary>Non-special tokens per document, read from the dump's token index only.</summary>
    public static int[] NonSpecialTokenCounts(ActivationDump dump)
    {
        var counts = new int[Math.Max(dump.Meta.NDocs, dump.Docs.Count == 0 ? 0 : dump.Docs.Max(d => d.Id) + 1)];
        foreach (var shard in dump.Meta.Shards)
        {
            var path = Path.Combine(dump.Dir, shard.File);
            try
            {
                using var r = new SafeTensorsReader(path);
                var docs = r.ReadInts("doc_id");
                var special = r.Tensors.ContainsKey("is_special") ? r.ReadInts("is_special") : new int[docs.Length];
                for (int i = 0; i < docs.Length; i++)
                {
                    if (special[i] != 0) continue;
                    if (docs[i] < 0 || docs[i] >= counts.Length)
                        throw new UserError($"'{path}', row {i}: doc_id {docs[i]} is not a document of docs.jsonl (0–{counts.Length - 1}).");
                    counts[docs[i]]++;
                }
            }
            catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
        }
        return counts;
    }
}
