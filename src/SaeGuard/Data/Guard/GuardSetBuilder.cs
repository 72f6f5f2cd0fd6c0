using System.Text;
using SaeGuard.Common;
using SaeGuard.Data.BuiltIn;
using SaeGuard.Data.Mixing;

namespace SaeGuard.Data.Guard;

public sealed record GuardSetOptions
{
    /// <summary>The shared data folder (MANIFEST.md layout), e.g. ../shared/data.</summary>
    public required string SharedData { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>Alpaca harmless_train instructions sampled as plain benign prompts.</summary>
    public int AlpacaSample { get; init; } = 1200;
    /// <summary>Harmful and benign requests wrapped in each hand-written template (each of the two).</summary>
    public int PerHandWrittenTemplate { get; init; } = 6;
    /// <summary>Harmful and benign requests wrapped in each in-the-wild template (each of the two).</summary>
    public int PerWildTemplate { get; init; } = 2;
    /// <summary>In-the-wild templates longer than this (characters) are not used.</summary>
    public int MaxTemplateChars { get; init; } = 2500;
    /// <summary>Extra benign requests wrapped in each training-split template (added after every other row,
    /// so the validation and test rows do not change): more "same template, harmless request" examples.</summary>
    public int ExtraTrainWrappedBenign { get; init; } = 4;
    /// <summary>Extra harmful requests wrapped in each training-split template (added after the extra benign rows).</summary>
    public int ExtraTrainWrappedHarmful { get; init; } = 4;
}

/// <summary>
/// Builds the guard sets: plain harmful and plain benign requests from the public sets and the
/// built-in prompts, benign look-alikes, and harmful and benign requests wrapped in the same
/// jailbreak templates. Every row keeps its provenance. Splits (train 60 % / val 20 % / test 20 %)
/// are drawn by a seeded hash of the base prompt (its normalised text, or its look-alike group) and,
/// for wrapped rows, of the template's family key, and a wrapped row only combines a template and
/// a base prompt of the same split: no template and no base prompt is shared across splits. Texts
/// are deduplicated on their normalised form (<see cref="Deduplicator.Normalize"/>), first row wins.
/// </summary>
public static class GuardSetBuilder
{
    public static IReadOnlyList<GuardRow> Build(GuardSetOptions o)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rows = new List<GuardRow>();
        void Add(GuardRow r)
        {
            var key = Deduplicator.Normalize(r.Text);
            if (key.Length > 0 && seen.Add(key)) rows.Add(r);
        }

        foreach (var (doc, file) in PlainHarmful(o))
            Add(Plain(doc.Text, Labels.Harmful, GuardKinds.PlainHarmful, doc.Category ?? "harmful", file, doc.Id + 1, o.Seed));
        var builtin = BuiltInPrompts.LoadRows();
        for (int i = 0; i < builtin.Count; i++)
        {
            var b = builtin[i];
            if (b.Label == Labels.Harmful) Add(Plain(b.Text, b.Label, GuardKinds.PlainHarmful, b.Category, "builtin_prompts.csv", i + 1, o.Seed));
        }
        for (int i = 0; i < builtin.Count; i++)
        {
            var b = builtin[i];
            if (b.Label != Labels.Benign) continue;
            bool look = b.Category == BuiltInPrompts.LookalikeCategory;
            Add(Plain(b.Text, b.Label, look ? GuardKinds.Lookalike : GuardKinds.PlainBenign, look ? "builtin-lookalike" : "benign",
                "builtin_prompts.csv", i + 1, o.Seed));
        }
        foreach (var (doc, file) in PlainBenign(o))
            Add(Plain(doc.Text, Labels.Benign, GuardKinds.PlainBenign, "benign", file, doc.Id + 1, o.Seed));
        foreach (var l in Lookalikes.Curated().Concat(Lookalikes.Templated()))
            Add(new GuardRow
            {
                Text = l.Text, Label = Labels.Benign, Kind = GuardKinds.Lookalike, Split = SplitOf(l.Group, o.Seed),
                Category = l.Kind, Source = l.Source, Row = l.Row, BaseText = l.Text,
            });

        var templates = WrapTemplates.HandWrittenTemplates()
            .Concat(WrapTemplates.InTheWild(Path.Combine(o.SharedData, "jailbreak_llms", "jailbreak_prompts_2023_12_25.first300.csv"), o.MaxTemplateChars))
            .ToList();
        var plain = rows.ToList();
        foreach (var split in GuardSplits.All)
        {
            var harmful = plain.Where(r => r.Split == split && r.Kind == GuardKinds.PlainHarmful).ToList();
            var benign = plain.Where(r => r.Split == split && r.Kind is GuardKinds.PlainBenign or GuardKinds.Lookalike && r.Text.Length <= 300).ToList();
            foreach (var t in templates.Where(t => SplitOf(TemplateKey(t), o.Seed) == split))
            {
                int k = t.Source == WrapTemplates.HandWrittenSource ? o.PerHandWrittenTemplate : o.PerWildTemplate;
                var rng = new Random(unchecked(o.Seed * 7919 + StableHash(t.Id)));
                foreach (var b in Sample(harmful, k, rng)) Add(Wrapped(t, b, GuardKinds.WrappedHarmful, split));
                foreach (var b in Sample(benign, k, rng)) Add(Wrapped(t, b, GuardKinds.WrappedBenign, split));
            }
        }
        var trainTemplates = templates.Where(t => SplitOf(TemplateKey(t), o.Seed) == GuardSplits.Train).ToList();
        if (o.ExtraTrainWrappedBenign > 0)
        {
            var benign = plain.Where(r => r.Split == GuardSplits.Train && r.Kind is GuardKinds.PlainBenign or GuardKinds.Lookalike && r.Text.Length <= 300).ToList();
            foreach (var t in trainTemplates)
            {
                var rng = new Random(unchecked(o.Seed * 104729 + StableHash("extra:" + t.Id)));
                foreach (var b in Sample(benign, o.ExtraTrainWrappedBenign, rng)) Add(Wrapped(t, b, GuardKinds.WrappedBenign, GuardSplits.Train));
            }
        }
        if (o.ExtraTrainWrappedHarmful > 0)
        {
            var harmful = plain.Where(r => r.Split == GuardSplits.Train && r.Kind == GuardKinds.PlainHarmful).ToList();
            foreach (var t in trainTemplates)
            {
                var rng = new Random(unchecked(o.Seed * 130363 + StableHash("extra-harmful:" + t.Id)));
                foreach (var b in Sample(harmful, o.ExtraTrainWrappedHarmful, rng)) Add(Wrapped(t, b, GuardKinds.WrappedHarmful, GuardSplits.Train));
            }
        }
        return rows;
    }

    static GuardRow Plain(string text, string label, string kind, string category, string file, int row, int seed) => new()
    {
        Text = text.Trim(), Label = label, Kind = kind, Split = SplitOf(Deduplicator.Normalize(text), seed),
        Category = category, Source = file, Row = row, BaseText = text.Trim(),
    };

    static GuardRow Wrapped(WrapTemplate t, GuardRow b, string kind, string split) => b with
    {
        Text = t.Wrap(b.Text), Kind = kind, Split = split, Template = t.Id, TemplateSource = $"{t.Source}#{t.Row}",
    };

    static IEnumerable<GuardRow> Sample(List<GuardRow> pool, int k, Random rng)
    {
        if (pool.Count == 0) yield break;
        var picked = new HashSet<int>();
        while (picked.Count < Math.Min(k, pool.Count))
            if (picked.Add(rng.Next(pool.Count))) yield return pool[picked.Last()];
    }

    /// <summary>In-the-wild variants of one jailbreak (DAN 6.0, DAN 7.0, …) open alike: their first
    /// eight normalised words form the key, so near-copies land in one split.</summary>
    static string TemplateKey(WrapTemplate t)
    {
        if (t.Source == WrapTemplates.HandWrittenSource) return t.Id;
        var words = Deduplicator.Normalize(t.Text).Split(' ');
        return "wild:" + string.Join(' ', words.Take(8));
    }

    /// <summary>train 60 % / val 20 % / test 20 % by a seeded FNV-1a hash of the key.</summary>
    public static string SplitOf(string key, int seed)
    {
        int bucket = (int)((uint)StableHash(seed + "|" + key) % 10);
        return bucket < 6 ? GuardSplits.Train : bucket < 8 ? GuardSplits.Validation : GuardSplits.Test;
    }

    /// <summary>FNV-1a of the UTF-8 bytes, non-negative: the same on every platform and run.</summary>
    public static int StableHash(string s)
    {
        uint h = 2166136261;
        foreach (var b in Encoding.UTF8.GetBytes(s)) { h ^= b; h *= 16777619; }
        return (int)(h & 0x7fffffff);
    }

    static IEnumerable<(DocRecord Doc, string File)> PlainHarmful(GuardSetOptions o)
    {
        foreach (var rel in new[] { "advbench/harmful_behaviors.csv", "malicious_instruct/MaliciousInstruct.txt", "gptfuzz/question_list.csv",
                     "jailbreak_llms/forbidden_question_set.csv" })
        {
            var path = Required(o, rel);
            var opts = rel.StartsWith("jailbreak_llms", StringComparison.Ordinal) ? new CorpusReadOptions() : new CorpusReadOptions { FixedLabel = Labels.Harmful };
            foreach (var d in CorpusReader.Read(path, opts))
                if (d.Label == Labels.Harmful) yield return (d, rel);
        }
    }

    static IEnumerable<(DocRecord Doc, string File)> PlainBenign(GuardSetOptions o)
    {
        const string alpaca = "refusal_direction_alpaca/harmless_train.json";
        var all = CorpusReader.Read(Required(o, alpaca), new CorpusReadOptions { FixedLabel = Labels.Benign }).ToList();
        var rng = new Random(o.Seed);
        var order = Enumerable.Range(0, all.Count).OrderBy(_ => rng.Next()).Take(Math.Min(o.AlpacaSample, all.Count)).Order();
        foreach (var i in order) yield return (all[i], alpaca);
        foreach (var rel in new[] { "self_instruct/user_oriented_instructions.jsonl", "self_instruct/seed_tasks.jsonl",
                     "alpaca_eval/text_davinci_003_model_outputs.first400.json" })
            foreach (var d in CorpusReader.Read(Required(o, rel), new CorpusReadOptions { FixedLabel = Labels.Benign }))
                yield return (d, rel);
    }

    static string Required(GuardSetOptions o, string rel)
    {
        var path = Path.Combine(o.SharedData, rel);
        if (!File.Exists(path)) throw new UserError($"Guard set source not found: '{path}' (expected the shared data layout of MANIFEST.md under '{o.SharedData}').");
        return path;
    }
}
