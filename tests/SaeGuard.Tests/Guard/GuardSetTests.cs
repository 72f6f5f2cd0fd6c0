using SaeGuard.Data;
using SaeGuard.Data.Guard;
using SaeGuard.Data.Mixing;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Guard;

public class GuardSetTests
{
    static readonly Lazy<IReadOnlyList<GuardRow>> Rows = new(() =>
        GuardSetBuilder.Build(new GuardSetOptions { SharedData = TestPaths.SharedData(), Seed = 1, AlpacaSample = 300 }));

    [Fact]
    public void Every_kind_is_in_every_split()
    {
        foreach (var kind in GuardKinds.All)
            foreach (var split in GuardSplits.All)
                Assert.True(Rows.Value.Count(r => r.Kind == kind && r.Split == split) >= 10, $"{kind}/{split}");
    }

    [Fact]
    public void No_template_and_no_base_prompt_crosses_splits()
    {
        var rows = Rows.Value;
        foreach (var g in rows.Where(r => r.Template != "").GroupBy(r => r.Template))
            Assert.Single(g.Select(r => r.Split).Distinct());
        foreach (var g in rows.GroupBy(r => Deduplicator.Normalize(r.BaseText)))
            Assert.Single(g.Select(r => r.Split).Distinct());
    }

    [Fact]
    public void Texts_are_unique_after_normalisation()
    {
        var keys = Rows.Value.Select(r => Deduplicator.Normalize(r.Text)).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void Wrapped_rows_hold_their_request_and_the_same_templates_wrap_both_labels()
    {
        var wrapped = Rows.Value.Where(r => r.Template != "").ToList();
        Assert.All(wrapped, r => Assert.Contains(r.BaseText, r.Text));
        Assert.All(wrapped, r => Assert.Equal(r.Kind == GuardKinds.WrappedHarmful ? Labels.Harmful : Labels.Benign, r.Label));
        var harmfulTemplates = wrapped.Where(r => r.IsHarmful).Select(r => r.Template).ToHashSet();
        var benignTemplates = wrapped.Where(r => !r.IsHarmful).Select(r => r.Template).ToHashSet();
        Assert.True(harmfulTemplates.SetEquals(benignTemplates));
        Assert.Contains(wrapped, r => r.Template.StartsWith("hw-") && r.TemplateSource.StartsWith(WrapTemplates.HandWrittenSource));
        Assert.Contains(wrapped, r => r.Template.StartsWith("wild-") && r.TemplateSource.StartsWith("jailbreak_prompts_2023_12_25.first300.csv#"));
    }

    [Fact]
    public void Provenance_points_at_the_source_row()
    {
        // AdvBench rows: Row is the 1-based data row of harmful_behaviors.csv, whose goal is the text.
        var docs = CorpusReader.Read(TestPaths.SharedData("advbench", "harmful_behaviors.csv")).ToList();
        var adv = Rows.Value.Where(r => r.Source == "advbench/harmful_behaviors.csv" && r.Template == "").Take(50).ToList();
        Assert.NotEmpty(adv);
        Assert.All(adv, r => Assert.Equal(docs[r.Row - 1].Text.Trim(), r.Text));
        var curated = Lookalikes.Curated();
        Assert.All(Rows.Value.Where(r => r.Source == Lookalikes.CuratedSource && r.Template == ""), r => Assert.Equal(curated[r.Row - 1].Text, r.Text));
    }

    [Fact]
    public void Curated_lookalikes_are_hundreds_of_distinct_benign_rows()
    {
        var curated = Lookalikes.Curated();
        Assert.True(curated.Count >= 300);
        Assert.Equal(curated.Count, curated.Select(l => Deduplicator.Normalize(l.Text)).Distinct().Count());
        Assert.All(curated, l => Assert.False(string.IsNullOrWhiteSpace(l.Kind)));
    }

    [Fact]
    public void The_csv_round_trips()
    {
        using var tmp = new TempDir();
        var rows = Rows.Value.Take(200).Concat(Rows.Value.Where(r => r.Template.StartsWith("wild-")).Take(20)).ToList();
        GuardSetFile.Write(tmp["g.csv"], rows);
        Assert.Equal(rows, GuardSetFile.Read(tmp["g.csv"]));
    }

    [Fact]
    public void Extra_wrapped_rows_are_training_rows_and_leave_the_evaluation_splits_unchanged()
    {
        var more = GuardSetBuilder.Build(new GuardSetOptions { SharedData = TestPaths.SharedData(), Seed = 1, AlpacaSample = 300, ExtraTrainWrappedBenign = 3, ExtraTrainWrappedHarmful = 2 });
        var baseRows = GuardSetBuilder.Build(new GuardSetOptions { SharedData = TestPaths.SharedData(), Seed = 1, AlpacaSample = 300, ExtraTrainWrappedBenign = 0, ExtraTrainWrappedHarmful = 0 });
        Assert.Equal(baseRows, more.Take(baseRows.Count));
        var extra = more.Skip(baseRows.Count).ToList();
        Assert.True(extra.Count > 100, $"{extra.Count} extra rows");
        Assert.All(extra, r => Assert.Equal(GuardSplits.Train, r.Split));
        Assert.All(extra, r => Assert.Equal(r.Kind == GuardKinds.WrappedHarmful ? Labels.Harmful : Labels.Benign, r.Label));
        // benign extras first, then harmful ones
        var kinds = extra.Select(r => r.Kind).ToList();
        Assert.Equal(kinds.OrderBy(k => k == GuardKinds.WrappedHarmful ? 1 : 0), kinds);
        Assert.Contains(GuardKinds.WrappedHarmful, kinds);
        Assert.Contains(GuardKinds.WrappedBenign, kinds);
        var trainTemplates = baseRows.Where(r => r.Split == GuardSplits.Train && r.Template != "").Select(r => r.Template).ToHashSet();
        var trainBases = baseRows.Where(r => r.Split == GuardSplits.Train && r.Template == "").Select(r => Deduplicator.Normalize(r.BaseText)).ToHashSet();
        Assert.All(extra, r => Assert.Contains(r.Template, trainTemplates));
        Assert.All(extra, r => Assert.Contains(Deduplicator.Normalize(r.BaseText), trainBases));
        var keys = more.Select(r => Deduplicator.Normalize(r.Text)).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }
}
