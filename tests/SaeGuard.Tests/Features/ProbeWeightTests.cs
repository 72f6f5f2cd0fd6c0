using SaeGuard.Features;
using SaeGuard.Probes;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Features;

/// <summary>With a probe folder, pages carry the probe's one definition of a feature's weight (Probes.FeatureWeights via features.json).</summary>
public class ProbeWeightTests
{
    [Fact]
    public void Pages_carry_the_probe_folders_weights_and_contribution()
    {
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        var (code, _, err) = CliHarness.Run("probe", "--acts", acts, "--sae", sae, "--out", tmp["probe"], "--folds", "3", "--decision", "sae");
        Assert.True(code == 0, err);
        var catalog = FeatureCatalog.Load(tmp["probe/features.json"]);
        var set = FeatureSetBuilder.Build(sae, acts, tmp["probe"]);
        Assert.Contains(set.Pages, p => p.ProbeWeight != 0);
        foreach (var p in set.Pages)
        {
            Assert.Equal(catalog.Get(p.Id)!.Weight, p.ProbeWeight);
            Assert.Equal(p.ProbeWeight!.Value * p.MeanActive, p.ProbeContribution!.Value, 12);
        }
        Assert.All(set.Summaries(), s => Assert.Equal(catalog.Get(s.Id)!.Weight, s.ProbeWeight));
        // the harmful-only feature 1 pushes toward harmful
        Assert.True(set.Pages[1].ProbeWeight > 0, $"feature 1 weight {set.Pages[1].ProbeWeight}");
    }
}
