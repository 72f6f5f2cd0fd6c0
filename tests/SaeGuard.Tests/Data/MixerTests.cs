using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Data.Mixing;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Data;

public class MixerTests
{
    static readonly Lazy<TokenCounter> MiniLm = new(() => TestTokenCounters.MiniLm());

    static MixSource Source(string name, double share, string format, params string[] parts) => new()
    {
        Name = name, Share = share, Paths = new[] { TestPaths.SharedData(parts) },
        Read = new CorpusReadOptions { Format = format, Source = name },
    };

    /// <summary>The seed's mix: ShareGPT 86.1% / openwebtext-like 9.6% / unsafe 4.2% / jailbreak 0.1% of tokens.</summary>
    static MixRecipe SeedLikeRecipe(long? totalTokens) => new()
    {
        By = ShareUnit.Tokens, Total = totalTokens, Seed = 11,
        Sources = new[]
        {
            Source("sharegpt", 0.861, "sharegpt", "sharegpt", "ShareGPT_V3_filtered_500.json"),
            Source("wikitext", 0.096, "txt", "wikitext", "wiki.test.raw"),
            Source("unsafe", 0.042, "advbench", "advbench", "harmful_behaviors.csv") with
            {
                Paths = new[] { TestPaths.SharedData("advbench", "harmful_behaviors.csv"), TestPaths.SharedData("hh_rlhf", "harmless-base", "test.jsonl.gz") },
                Read = new CorpusReadOptions { Source = "unsafe", FixedLabel = "harmful" },
            },
            Source("jailbreak", 0.001, "jailbreak", "jailbreak_llms", "jailbreak_prompts_2023_12_25.first300.csv"),
        },
    };

    [Theory]
    [InlineData(null)]      // as large as the sources allow (ShareGPT limits it)
    [InlineData(30_000L)]
    public void Token_shares_are_met_within_one_point_on_real_data(long? total)
    {
        var r = SeedLikeRecipe(total);
        var mix = CorpusMixer.Mix(r, MiniLm.Value);
        var targets = new Dictionary<string, double> { ["sharegpt"] = 86.1, ["wikitext"] = 9.6, ["unsafe"] = 4.2, ["jailbreak"] = 0.1 };
        foreach (var row in mix.Table.Rows)
            Assert.True(Math.Abs(row.TokensPct - targets[row.Source]) < 1.0, $"{row.Source}: {row.TokensPct:F2}% of tokens, target {targets[row.Source]}%");
        // The table agrees with a recount of the written documents.
        Assert.Equal(mix.Docs.Sum(d => (long)MiniLm.Value.Count(d.Text)), mix.Table.TotalTokens);
        if (total != null) Assert.InRange(mix.Table.TotalTokens, total.Value * 0.99, total.Value);
        else Assert.Equal(mix.Sources[0].AvailableTokens, mix.Sources[0].TakenTokens); // the limiting source is taken whole
        Assert.All(mix.Docs.Where(d => d.Source == "unsafe"), d => Assert.Equal(Labels.Harmful, d.Label));
    }

    [Fact]
    public void Example_shares_are_exact()
    {
        var r = new MixRecipe
        {
            By = ShareUnit.Examples, Total = 900, Seed = 5, // ShareGPT holds 499 distinct prompts
            Sources = new[]
            {
                Source("sharegpt", 0.5, "sharegpt", "sharegpt", "ShareGPT_V3_filtered_500.json"),
                Source("alpaca", 0.3, "alpaca", "refusal_direction_alpaca", "harmless_val.json"),
                Source("advbench", 0.2, "advbench", "advbench", "harmful_behaviors.csv"),
            },
        };
        var mix = CorpusMixer.Mix(r, MiniLm.Value);
        Assert.Equal(new long[] { 450, 270, 180 }, mix.Table.Rows.OrderBy(x => Array.IndexOf(new[] { "sharegpt", "alpaca", "advbench" }, x.Source)).Select(x => x.Examples));
        Assert.Equal(900, mix.Docs.Count);
        Assert.Equal(Enumerable.Range(0, 900), mix.Docs.Select(d => d.Id));
        Assert.Equal(900, mix.Docs.Select(d => d.Text).Distinct().Count());
    }

    [Fact]
    public void Quotas_use_largest_remainders()
    {
        Assert.Equal(new long[] { 6, 4 }, CorpusMixer.Quotas(10, new[] { 0.55, 0.45 }));
        Assert.Equal(new long[] { 333, 333, 333 }, CorpusMixer.Quotas(999, new[] { 1 / 3.0, 1 / 3.0, 1 / 3.0 }));
        Assert.Equal(new long[] { 334, 333, 333 }, CorpusMixer.Quotas(1000, new[] { 1 / 3.0, 1 / 3.0, 1 / 3.0 }));
        Assert.Equal(new long[] { 749, 125, 125, 1 }, CorpusMixer.Quotas(1000, new[] { 0.749, 0.125, 0.125, 0.001 }));
    }

    [Fact]
    public void A_total_larger_than_a_source_allows_is_a_user_error()
    {
        var r = new MixRecipe
        {
            By = ShareUnit.Examples, Total = 2000,
            Sources = new[] { Source("sharegpt", 0.5, "sharegpt", "sharegpt", "ShareGPT_V3_filtered_500.json"), Source("advbench", 0.5, "advbench", "advbench", "harmful_behaviors.csv") },
        };
        var e = Assert.Throws<UserError>(() => CorpusMixer.Mix(r, MiniLm.Value));
        Assert.Contains("'sharegpt'", e.Message);
        Assert.Contains("1,000", e.Message);
    }

    [Fact]
    public void Dedup_removes_planted_duplicates()
    {
        using var tmp = new TempDir();
        var goals = CorpusReader.Read(TestPaths.SharedData("advbench", "harmful_behaviors.csv")).Select(d => d.Text).ToList();
        var lines = new List<string>();
        for (int i = 0; i < 60; i++) lines.Add($"Unique benign prompt number {i} about topic {i * 7 % 13}.");
        for (int i = 0; i < 10; i++) lines.Add(lines[i * 3]);                                        // 10 exact copies
        for (int i = 0; i < 5; i++) lines.Add("  UNIQUE benign prompt, number " + (40 + i) + " about topic " + ((40 + i) * 7 % 13) + "!"); // 5 near copies
        for (int i = 0; i < 4; i++) lines.Add(goals[i * 100]);                                       // 4 copies of another source's rows
        var planted = tmp["planted.txt"];
        File.WriteAllLines(planted, lines);
        MixRecipe Recipe(DedupMode mode) => new()
        {
            By = ShareUnit.Examples, Dedup = mode,
            Sources = new[]
            {
                Source("advbench", 0.5, "advbench", "advbench", "harmful_behaviors.csv"),
                new MixSource { Name = "planted", Share = 0.5, Paths = new[] { planted }, Read = new CorpusReadOptions { Format = "txt", Source = "planted" } },
            },
        };
        int Dups(DedupMode mode) => CorpusMixer.Mix(Recipe(mode), MiniLm.Value).Sources[1].Duplicates;
        Assert.Equal(0, Dups(DedupMode.None));
        Assert.Equal(14, Dups(DedupMode.Exact));
        Assert.Equal(19, Dups(DedupMode.Near));
        var exact = CorpusMixer.Mix(Recipe(DedupMode.Exact), MiniLm.Value);
        Assert.Equal(exact.Docs.Count, exact.Docs.Select(d => d.Text).Distinct().Count());
        Assert.Equal(65, exact.Sources[1].Read - exact.Sources[1].Duplicates); // 60 unique + 5 near copies
        var near = CorpusMixer.Mix(Recipe(DedupMode.Near), MiniLm.Value);
        Assert.Equal(60, near.Sources[1].Read - near.Sources[1].Duplicates);
        Assert.Equal(near.Docs.Count, near.Docs.Select(d => Deduplicator.Normalize(d.Text)).Distinct().Count());
    }

    [Fact]
    public void Near_dup_key_ignores_case_punctuation_and_spacing()
    {
        Assert.Equal(Deduplicator.Normalize("Hello,   World!\n"), Deduplicator.Normalize("hello world"));
        Assert.NotEqual(Deduplicator.Normalize("hello world"), Deduplicator.Normalize("hello word"));
    }

    [Fact]
    public void Same_seed_gives_the_same_corpus_byte_for_byte()
    {
        using var tmp = new TempDir();
        var recipe = tmp["mix.yaml"];
        File.WriteAllText(recipe, $"""
            seed: 3
            by: tokens
            total: 20000
            dedup: near
            sources:
              - name: sharegpt
                path: {TestPaths.SharedData("sharegpt", "ShareGPT_V3_filtered_500.json")}
                share: 0.7
              - name: hh
                path: {TestPaths.SharedData("hh_rlhf", "harmless-base", "test.jsonl.gz")}
                turns: all
                label: harmful
                share: 0.2
              - name: jailbreak
                path: {TestPaths.SharedData("jailbreak_llms", "jailbreak_prompts_2023_12_25.first300.csv")}
                share: 0.1
            """);
        byte[] Run(string name, params string[] extra)
        {
            var (code, _, err) = CliHarness.Run(new[] { "data", "mix", "--recipe", recipe, "--out", tmp[name] }.Concat(extra).ToArray());
            Assert.True(code == 0, err);
            return File.ReadAllBytes(Path.Combine(tmp[name], "corpus.jsonl"));
        }
        var a = Run("a");
        var b = Run("b");
        var c = Run("c", "--seed", "4");
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var docs = CorpusReader.Read(Path.Combine(tmp["a"], "corpus.jsonl")).ToList();
        Assert.Equal(new[] { "sharegpt", "hh", "jailbreak" }.Order(), docs.Select(d => d.Source).Distinct().Order());
        Assert.All(docs.Where(d => d.Source == "jailbreak"), d => Assert.Equal("jailbreak & roleplay", d.Category));
    }

    [Fact]
    public void Token_counts_match_the_tokenizer_and_do_not_depend_on_threads()
    {
        var c = MiniLm.Value;
        Assert.Equal(4, c.Count("hello world")); // [CLS] hello world [SEP]
        var texts = CorpusReader.Read(TestPaths.SharedData("jailbreak_llms", "jailbreak_prompts_2023_12_25.first300.csv")).Select(d => d.Text).ToList();
        var serial = texts.Select(c.Count).ToArray();
        Assert.Equal(serial, c.CountAll(texts, threads: 4));
        Assert.Equal(serial, c.CountAll(texts, threads: 1));
        var capped = TestTokenCounters.MiniLm(maxLength: 256);
        Assert.Equal(serial.Select(n => Math.Min(n, 256)), texts.Select(capped.Count));
        Assert.Contains(serial, n => n > 256);
    }
}
