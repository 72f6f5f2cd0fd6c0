using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Probes;

namespace SaeGuard.Tests.Probes;

public class LabelledSetTests
{
    static List<LabelledPrompt> Prompts(int harmful, int benign, Func<Random, int, int> tokens, int seed = 0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, harmful + benign).Select(i => new LabelledPrompt
        {
            Dump = 0, DocId = i, Label = i < harmful ? 1 : 0, Source = i < harmful ? "h" : "b",
            Text = $"p{i}", Tokens = tokens(rng, i < harmful ? 1 : 0),
        }).ToList();
    }

    [Fact]
    public void Balancing_downsamples_the_larger_class_reproducibly()
    {
        var all = Prompts(30, 100, (r, _) => 5 + r.Next(10));
        var (kept, rep) = LabelledSet.Select(all, new SelectionOptions { Seed = 1 });
        Assert.Equal(30, kept.Count(p => p.Label == 1));
        Assert.Equal(30, kept.Count(p => p.Label == 0));
        Assert.Equal((30, 100, 30, 30), (rep.HarmfulAvailable, rep.BenignAvailable, rep.HarmfulUsed, rep.BenignUsed));
        var again = LabelledSet.Select(all, new SelectionOptions { Seed = 1 }).Kept;
        Assert.Equal(kept.Select(p => p.DocId), again.Select(p => p.DocId));
        var other = LabelledSet.Select(all, new SelectionOptions { Seed = 2 }).Kept;
        Assert.NotEqual(kept.Select(p => p.DocId), other.Select(p => p.DocId));
        var capped = LabelledSet.Select(all, new SelectionOptions { Seed = 1, MaxPerClass = 10 }).Report;
        Assert.Equal((10, 10), (capped.HarmfulUsed, capped.BenignUsed));
    }

    [Fact]
    public void Length_matching_removes_the_length_shortcut()
    {
        // Harmful prompts short (4–12 tokens), benign ones long (8–40): length alone separates them well.
        var all = Prompts(300, 300, (r, label) => label == 1 ? 4 + r.Next(9) : 8 + r.Next(33));
        var (plain, before) = LabelledSet.Select(all, new SelectionOptions());
        Assert.True(before.LengthAuroc > 0.85, $"length AUROC {before.LengthAuroc}");
        var (matched, after) = LabelledSet.Select(all, new SelectionOptions { MatchLength = true });
        Assert.True(after.LengthMatched);
        Assert.True(after.LengthAuroc < 0.56, $"length AUROC after matching {after.LengthAuroc}");
        Assert.Equal(after.HarmfulUsed, after.BenignUsed);
        Assert.InRange(after.HarmfulUsed, 20, 200);
        foreach (var bin in matched.GroupBy(p => LabelledSet.LengthBin(p.Tokens)))
            Assert.Equal(bin.Count(p => p.Label == 1), bin.Count(p => p.Label == 0));
        Assert.Equal(before.LengthAurocAvailable, after.LengthAurocAvailable);
    }

    [Fact]
    public void Label_rules_match_sources_with_wildcards_first_match_wins()
    {
        var rules = LabelRules.Parse("harmful_behaviors=harmful:violence & illegal, harmless_*=0, ShareGPT*=ignore, *=benign");
        Assert.Equal(4, rules.Count);
        (string?, string?) Apply(string source, string? label = null, string? cat = null) =>
            LabelRules.Apply(rules, new DocRecord { Source = source, Label = label, Category = cat });
        Assert.Equal(("harmful", "violence & illegal"), Apply("harmful_behaviors"));
        Assert.Equal(("benign", null), Apply("harmless_train"));
        Assert.Equal(("benign", "x"), Apply("HARMLESS_val", cat: "x"));
        Assert.Equal((null, null), Apply("ShareGPT_V3_filtered_500", "benign"));
        Assert.Equal(("benign", null), Apply("anything"));
        // No rules: the extracted label stays.
        Assert.Equal(("harmful", "fraud"), LabelRules.Apply(LabelRules.Parse(null), new DocRecord { Source = "s", Label = "harmful", Category = "fraud" }));
        Assert.True(new LabelRule("a*c*e", "harmful", null).Matches("abcde"));
        Assert.False(new LabelRule("a*c*e", "harmful", null).Matches("abcd"));
        Assert.Throws<UserError>(() => LabelRules.Parse("advbench=evil"));
        Assert.Throws<UserError>(() => LabelRules.Parse("=harmful"));
    }
}
