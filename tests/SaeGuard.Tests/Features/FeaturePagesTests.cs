using SaeGuard.Features;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Features;

/// <summary>The Features stage's numbers, recomputed here from the planted dump (<see cref="PlantedFeatures"/>).</summary>
public class FeaturePagesTests
{
    static readonly FeatureDashboardOptions Options = new() { TopExamples = 5, Bands = 4, PerBand = 3, NonFiring = 3, ContextTokens = 4, Neighbours = 3 };

    [Fact]
    public void Firing_rates_bands_histograms_and_contexts_equal_the_dump()
    {
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        var set = FeatureSetBuilder.Build(sae, acts, null, Options);
        var rows = PlantedFeatures.Rows(acts);
        Assert.Equal(PlantedFeatures.Docs * (PlantedFeatures.Len - 1), rows.Count);
        Assert.Equal(rows.Count, set.Info.Tokens);
        var at = rows.ToDictionary(r => (r.Doc, r.Position));
        for (int j = 0; j < PlantedFeatures.D; j++)
        {
            var p = set.Pages[j];
            var vals = rows.Select(r => r.Codes[j]).Where(v => v > 0).OrderByDescending(v => v).ToList();
            Assert.Equal(vals.Count, p.Fires);
            Assert.Equal(vals.Count / (double)rows.Count, p.FiringRate, 12);
            Assert.Equal(vals.Count == 0 ? 0 : vals.Average(v => (double)v), p.MeanActive, 5);
            Assert.Equal(vals.Count == 0 ? 0 : vals[0], p.Max, 6);
            // top examples: the documents where it fires hardest, each centred on its strongest token,
            // every token's activation the dump's
            var perDoc = rows.Where(r => r.Codes[j] > 0).GroupBy(r => r.Doc).Select(g => (Doc: g.Key, Max: g.Max(r => r.Codes[j])))
                .OrderByDescending(x => x.Max).ThenBy(x => x.Doc).Take(Options.TopExamples).ToList();
            Assert.Equal(perDoc.Select(x => x.Max), p.Top.Select(c => c.Value));
            Assert.Equal(perDoc.Select(x => x.Doc), p.Top.Select(c => c.Doc));
            var topTokens = p.Top.Select(c => (c.Doc, c.Position)).ToHashSet();
            foreach (var c in p.Top.Concat(p.Bands.SelectMany(b => b.Examples)).Concat(p.NonFiring))
            {
                for (int i = 0; i < c.Tokens.Count; i++)
                {
                    int pos = c.Position - c.Centre + i;
                    var (_, _, tok, codes) = at[(c.Doc, pos)];
                    Assert.Equal(codes[j], c.Values[i]);
                    Assert.Equal(PlantedFeatures.Vocab[tok], c.Tokens[i]);
                }
                Assert.Equal(at[(c.Doc, c.Position)].Codes[j], c.Value);
            }
            Assert.All(p.NonFiring, c => Assert.Equal(0f, c.Value));
            if (vals.Count == 0) { Assert.Empty(p.Bands); Assert.Empty(p.Histogram.Counts); continue; }
            Assert.Equal(Options.NonFiring, p.NonFiring.Count);
            // bands: equal-width intervals of (0, max], counts of every token inside, samples below the top examples
            Assert.Equal(Options.Bands, p.Bands.Count);
            for (int b = 0; b < p.Bands.Count; b++)
            {
                var band = p.Bands[b];
                Assert.Equal(p.Max * (Options.Bands - b) / Options.Bands, band.High, 9);
                Assert.Equal(p.Max * (Options.Bands - b - 1) / Options.Bands, band.Low, 9);
                Assert.Equal(vals.Count(v => v > band.Low && v <= band.High), band.Count);
                int eligible = rows.Count(r => r.Codes[j] > band.Low && r.Codes[j] <= band.High && !topTokens.Contains((r.Doc, r.Position)));
                Assert.Equal(Math.Min(Options.PerBand, eligible), band.Examples.Count);
                Assert.All(band.Examples, e => Assert.InRange(e.Value, band.Low + 1e-9, band.High));
                Assert.All(band.Examples, e => Assert.DoesNotContain((e.Doc, e.Position), topTokens));
            }
            Assert.Equal(vals.Count, p.Bands.Sum(b => b.Count));
            // histogram: log-spaced bins, counts of the dump's values in [edge_i, edge_i+1)
            var h = p.Histogram;
            Assert.Equal(h.Counts.Length + 1, h.Edges.Length);
            Assert.Equal(vals.Count, h.Counts.Sum());
            for (int i = 0; i < h.Counts.Length; i++)
            {
                Assert.Equal(Math.Pow(2, 0.25), h.Edges[i + 1] / h.Edges[i], 9);
                Assert.Equal(vals.Count(v => v >= h.Edges[i] && v < h.Edges[i + 1]), h.Counts[i]);
            }
        }
        Assert.Equal(0, set.Pages[3].Fires);
        Assert.Contains(set.Pages[4].Neighbours, n => n.Id == 5);
        Assert.Equal(5, set.Pages[4].Neighbours[0].Id);
        Assert.True(set.Pages[4].Neighbours[0].Cosine > 0.99);
        Assert.StartsWith("malware", set.Pages[0].Label);
    }

    [Fact]
    public void Label_and_category_specificity_equal_the_log_odds_recomputed_from_the_dump()
    {
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        var set = FeatureSetBuilder.Build(sae, acts, null, Options);
        var rows = PlantedFeatures.Rows(acts);
        Assert.Equal(new[] { "benign", "harmful" }, set.Info.Labels);
        Assert.Equal(PlantedFeatures.Categories, set.Info.Categories);
        const double alpha = 10;
        for (int j = 0; j < PlantedFeatures.D; j++)
            foreach (var (groups, of) in new (List<GroupStat>, Func<int, string?>)[] { (set.Pages[j].ByLabel, d => PlantedFeatures.Doc(d).Label), (set.Pages[j].ByCategory, d => PlantedFeatures.Doc(d).Category) })
                foreach (var g in groups)
                {
                    var inG = rows.Where(r => of(r.Doc) == g.Group).ToList();
                    var outG = rows.Where(r => of(r.Doc) != g.Group).ToList();
                    double a = inG.Count(r => r.Codes[j] > 0), b = inG.Count - a, c = outG.Count(r => r.Codes[j] > 0), d = outG.Count - c;
                    double n = rows.Count, ph = (a + c + 0.5) / (n + 1), sh = inG.Count / n;
                    a += alpha * ph * sh; b += alpha * (1 - ph) * sh; c += alpha * ph * (1 - sh); d += alpha * (1 - ph) * (1 - sh);
                    double lor = Math.Log(a * d / (b * c));
                    double se = Math.Sqrt(1 / a + 1 / b + 1 / c + 1 / d);
                    Assert.Equal(inG.Count, g.Tokens);
                    Assert.Equal(inG.Count(r => r.Codes[j] > 0), g.Fires);
                    Assert.Equal(inG.Count(r => r.Codes[j] > 0) / (double)inG.Count, g.FiringRate, 12);
                    Assert.Equal(lor, g.Specificity, 9);
                    Assert.Equal(lor - 1.959964 * se, g.SpecificityLow, 5);
                    Assert.Equal(lor + 1.959964 * se, g.SpecificityHigh, 5);
                }
    }

    [Fact]
    public void A_feature_firing_only_on_one_category_ranks_first_there_and_near_zero_elsewhere()
    {
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        var set = FeatureSetBuilder.Build(sae, acts, null, Options);
        Assert.Equal(0, set.RankBy("cyber", category: true)[0].Id);
        var cyber = set.Pages[0].ByCategory.Single(g => g.Group == "cyber");
        Assert.True(cyber.SpecificityLow > 2, $"cyber specificity CI starts at {cyber.SpecificityLow}");
        foreach (var other in new[] { "fraud", "violence" })
        {
            var g = set.Pages[0].ByCategory.Single(x => x.Group == other);
            Assert.Equal(0, g.Fires);
            Assert.Equal(0, g.FiringRate);
            Assert.True(g.Specificity < -1, $"{other}: {g.Specificity}");
            // there the harmful-wide feature ranks first, and feature 0 last
            var rank = set.RankBy(other, category: true);
            Assert.Equal(1, rank[0].Id);
            Assert.Equal(0, rank[^1].Id);
        }
        // the prior pulls a dead feature to "no preference" everywhere
        Assert.All(set.Pages[3].ByCategory.Concat(set.Pages[3].ByLabel), g => Assert.InRange(g.Specificity, -0.05, 0.05));
        // the harmful-only feature ranks first for the label
        Assert.Equal(1, set.RankBy("harmful", category: false)[0].Id);
        Assert.Equal(0, set.Pages[1].ByLabel.Single(g => g.Group == "benign").Fires);
    }
}
