using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Safety;

/// <summary>Issue 12, case 4 for probe: a NaN/Inf row is exit 1 naming shard, row and column; --nonfinite skip drops it and says how many.</summary>
public class ProbeNonFiniteTests
{
    const int D = 16, RowsPerDoc = 20, Docs = 100;

    /// <summary>100 labelled documents of 20 rows in shards of 1,000 rows; NaN at row 123 column 7, +Inf at row 1,400 column 0 when poisoned.</summary>
    static string Dump(TempDir tmp, string name, bool poisoned)
    {
        var rng = new Random(3);
        using var w = new DumpWriter(tmp[name], new DumpMeta { Model = "synthetic", Layer = 0 }, D, f16: false, maxShardBytes: 1000 * D * 4);
        for (int doc = 0; doc < Docs; doc++)
        {
            var block = new float[RowsPerDoc * D];
            for (int i = 0; i < block.Length; i++) block[i] = (float)rng.NextDouble() + (doc % 2 == 0 && i % D < 4 ? 1f : 0f);
            if (poisoned && doc == 123 / RowsPerDoc) block[(123 % RowsPerDoc) * D + 7] = float.NaN;
            if (poisoned && doc == 1400 / RowsPerDoc) block[(1400 % RowsPerDoc) * D + 0] = float.PositiveInfinity;
            w.AddDoc(new DocRecord { Id = doc, Text = $"document {doc}", Label = doc % 2 == 0 ? "harmful" : "benign" });
            w.AddRows(doc, block, Enumerable.Range(0, RowsPerDoc).ToArray(), new bool[RowsPerDoc]);
        }
        w.Complete();
        return tmp[name];
    }

    static string Sae(TempDir tmp)
    {
        var (code, _, err) = CliHarness.Run("train", "--acts", Dump(tmp, "clean", false), "--out", tmp["sae"], "--latents", "32", "--k", "4", "--batch", "256", "--tokens", "2000");
        Assert.True(code == 0, err);
        return tmp["sae"];
    }

    [Fact]
    public void Probe_stops_with_shard_row_and_column()
    {
        using var tmp = new TempDir();
        var sae = Sae(tmp);
        var (code, _, err) = CliHarness.Run("probe", "--acts", Dump(tmp, "acts", true), "--sae", sae, "--out", tmp["probe"], "--folds", "2");
        Assert.Equal(1, code);
        Assert.Contains("shard_00000.safetensors': row 123 (dump row 123), column 7 is NaN", err);
        Assert.Contains("--nonfinite skip", err);
        Assert.DoesNotContain("   at ", err);
        Assert.False(Directory.Exists(tmp["probe"]));
    }

    [Fact]
    public void Probe_with_skip_drops_the_two_rows_and_says_so()
    {
        using var tmp = new TempDir();
        var sae = Sae(tmp);
        var (code, _, err) = CliHarness.Run("probe", "--acts", Dump(tmp, "acts", true), "--sae", sae, "--out", tmp["probe"], "--folds", "2", "--nonfinite", "skip");
        Assert.True(code == 0, err);
        Assert.Contains("probe: --nonfinite skip dropped 2 rows holding NaN/Inf (shard_00000.safetensors: 1, shard_00001.safetensors: 1)", err);
        Assert.True(File.Exists(Path.Combine(tmp["probe"], SaeGuard.Probes.ProbeManifest.FileName)), err);
        Assert.Contains("50 per class", err); // every document kept: only the two rows went
    }
}
