using System.Text.Json;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Demo;

public class DemoTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public void Demo_runs_every_stage_and_reports_sensible_numbers()
    {
        using var tmp = new TempDir();
        var (code, stdout, err) = CliHarness.Run("demo", "--out", tmp["demo"], "--json");
        Assert.True(code == 0, err);
        var dir = tmp["demo"];
        foreach (var f in new[] { "acts/meta.json", "sae/cfg.json", "sae/sae_weights.safetensors", "sae/metrics.jsonl",
                     "report/diagnosis.json", "report/report.html", "report/feature_stats.npz", "probe/metrics.json", "probe/report.html", "classify.csv" })
            Assert.True(File.Exists(Path.Combine(dir, f)), $"missing {f}");
        Assert.Equal(7, Directory.GetFiles(Path.Combine(dir, "report", "activation_report"), "0*_*.png").Length);

        using var summary = JsonDocument.Parse(stdout);
        var root = summary.RootElement;
        Assert.Equal("sparse", root.GetProperty("verdict").GetString());
        Assert.Equal(16.0, root.GetProperty("sae").GetProperty("l0").GetDouble(), 1);
        Assert.InRange(root.GetProperty("sae").GetProperty("explained_variance").GetDouble(), 0.5, 1.0);
        Assert.InRange(root.GetProperty("sae").GetProperty("dead_fraction").GetDouble(), 0.0, 0.05);
        // The built-in set is hard on purpose (look-alike benign prompts, matched lengths), so the
        // bars are below the public-set ones but well above chance.
        Assert.InRange(root.GetProperty("probe_auroc").GetProperty("dense").GetDouble(), 0.85, 1.0);
        Assert.InRange(root.GetProperty("probe_auroc").GetProperty("sae").GetDouble(), 0.8, 1.0);
        var examples = root.GetProperty("examples").EnumerateArray().ToList();
        Assert.Equal(3, examples.Count);
        Assert.Equal("harmful", examples[1].GetProperty("label").GetString());
        Assert.Equal("benign", examples[0].GetProperty("label").GetString());
    }
}
