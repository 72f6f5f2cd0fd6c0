using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Sae;

namespace SaeGuard.Tests.Safety;

/// <summary>Issue 12, case 4: one NaN or Inf in a dump is exit 1 naming shard, row and column; --nonfinite skip drops those rows.</summary>
public class NonFiniteTests
{
    static float[] Poisoned()
    {
        var x = SaeTestDumps.Planted(2000, 16, 32, 9);
        x[123 * 16 + 7] = float.NaN;
        x[1400 * 16 + 0] = float.PositiveInfinity;
        return x;
    }

    static string Dump(TempDir tmp)
    {
        SaeTestDumps.Write(tmp["acts"], Poisoned(), 16, maxShardBytes: 1000 * 16 * 4);
        return tmp["acts"];
    }

    [Fact]
    public void Analyze_stops_with_shard_row_and_column_instead_of_a_pca_trace()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliHarness.Run("analyze", "--dump", Dump(tmp), "--out", tmp["report"]);
        Assert.Equal(1, code);
        Assert.Contains("shard_00000.safetensors': row 123 (dump row 123), column 7 is NaN", err);
        Assert.Contains("--nonfinite skip", err);
        Assert.DoesNotContain("   at ", err);
        Assert.False(Directory.Exists(tmp["report"]));
    }

    [Fact]
    public void Analyze_with_skip_drops_the_rows_and_says_how_many()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliHarness.Run("analyze", "--dump", Dump(tmp), "--out", tmp["report"], "--nonfinite", "skip", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("dropped 2 rows holding NaN/Inf (shard_00000.safetensors: 1, shard_00001.safetensors: 1)", err);
        Assert.True(File.Exists(tmp["report/diagnosis.json"]));
    }

    [Fact]
    public void Train_stops_at_the_first_non_finite_row_with_its_place()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliHarness.Run("train", "--acts", Dump(tmp), "--out", tmp["sae"], "--latents", "32", "--k", "4", "--batch", "256", "--tokens", "2048");
        Assert.Equal(1, code);
        Assert.Matches(@"shard_0000[01]\.safetensors': row \d+ \(dump row (123|1400)\), column (7|0) is (NaN|∞|Infinity)", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Train_with_skip_trains_on_the_finite_rows()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliHarness.Run("train", "--acts", Dump(tmp), "--out", tmp["sae"], "--latents", "32", "--k", "4", "--batch", "256", "--tokens", "2048", "--nonfinite", "skip");
        Assert.True(code == 0, err);
        Assert.Contains("dropped 2 rows", err);
        Assert.True(File.Exists(tmp["sae/sae_weights.safetensors"]));
    }

    [Fact]
    public void The_mode_is_error_or_skip()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliHarness.Run("analyze", "--dump", Dump(tmp), "--out", tmp["report"], "--nonfinite", "zero");
        Assert.Equal(1, code);
        Assert.Contains("--nonfinite must be error or skip, got 'zero'", err);
    }
}
