using System.Text.Json;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Sae;

namespace SaeGuard.Tests.Features;

/// <summary>`train` writes SAELens's sparsity.safetensors from its held-out pass.</summary>
public class TrainSparsityTests
{
    [Fact]
    public void Train_writes_sparsity_that_agrees_with_its_heldout_metrics()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], SaeTestDumps.Planted(3000, 16, 32, 7), 16, rowsPerDoc: 30);
        var (code, _, err) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"], "--latents", "256", "--k", "2", "--tokens", "6000", "--batch", "256");
        Assert.True(code == 0, err);
        var v = SparsityFile.Read(tmp["sae/" + SparsityFile.FileName], 256);
        var last = JsonDocument.Parse(File.ReadLines(tmp["sae/metrics.jsonl"]).Last()).RootElement;
        Assert.Equal("heldout", last.GetProperty("split").GetString());
        long measured = last.GetProperty("measured_tokens").GetInt64();
        Assert.Equal(last.GetProperty("max_feature_frequency").GetDouble(), v.Max(x => Math.Pow(10, x)), 5);
        Assert.Equal(last.GetProperty("heldout_never_fired_fraction").GetDouble(), v.Count(x => x == -10f) / 256.0, 12);
        // each density is a count over the measured tokens
        Assert.All(v.Where(x => x > -10f), x => Assert.Equal(Math.Round(Math.Pow(10, x) * measured), Math.Pow(10, x) * measured, 2));
        Assert.Equal(2.0, v.Sum(x => x == -10f ? 0 : Math.Pow(10, x)), 3); // TopK k=2: two firings per token
    }
}
