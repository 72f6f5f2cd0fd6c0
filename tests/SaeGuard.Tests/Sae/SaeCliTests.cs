using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Sae;

public class SaeCliTests
{
    static readonly float[] X = SaeTestDumps.Planted(4000, 32, 64, 41);

    [Fact]
    public void Train_then_encode_writes_a_SAELens_folder_metrics_and_a_sparse_codes_dump()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32, rowsPerDoc: 37, specialFirst: true);
        var (code, stdout, stderr) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"], "--latents", "128", "--k", "4",
            "--tokens", "60000", "--batch", "512", "--lr", "0.004", "--json");
        Assert.True(code == 0, stderr);
        var summary = JsonDocument.Parse(stdout).RootElement;
        foreach (var key in new[] { "tokens_seen", "mse", "explained_variance", "nmse", "l0", "dead_fraction", "freq_over_1pct", "freq_over_10pct", "l2_ratio", "tokens_per_s", "warnings" })
            Assert.True(summary.TryGetProperty(key, out _), $"--json lacks {key}");
        Assert.Equal(4.0, summary.GetProperty("l0").GetDouble(), 0.01);
        Assert.True(summary.GetProperty("explained_variance").GetDouble() > 0.5);
        Assert.Equal("heldout", summary.GetProperty("split").GetString());
        Assert.Contains("EV", stderr);
        var lines = File.ReadAllLines(tmp["sae/metrics.jsonl"]);
        Assert.True(lines.Length >= 3);
        foreach (var l in lines)
        {
            var m = JsonDocument.Parse(l).RootElement;
            foreach (var key in new[] { "tokens_seen", "mse", "explained_variance", "nmse", "l0", "dead_fraction", "freq_over_1pct", "freq_over_10pct", "l2_ratio", "tokens_per_s" })
                Assert.True(m.TryGetProperty(key, out _), $"metrics line lacks {key}: {l}");
        }
        Assert.True(Directory.Exists(tmp["sae/checkpoints"]));
        var sae = SaeLensFormat.Load(tmp["sae"]);
        Assert.Equal((32, 128, "topk", 4), (sae.DIn, sae.DSae, sae.Config.Architecture, sae.Config.K));
        Assert.Equal("test-model", sae.Config.Metadata.ModelName);
        Assert.Equal(3, sae.Config.Metadata.Layer);

        (code, stdout, stderr) = CliHarness.Run("encode", "--acts", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["codes"], "--json");
        Assert.True(code == 0, stderr);
        var codes = ActivationDump.Open(tmp["codes"], verifyChecksums: true);
        var acts = ActivationDump.Open(tmp["acts"]);
        Assert.Equal(("codes", "sparse_topk", 4, 128), (codes.Meta.Kind, codes.Meta.Layout, codes.Meta.K, codes.D));
        Assert.Equal(acts.NTokens, codes.NTokens);
        Assert.Equal(File.ReadAllText(tmp["acts/docs.jsonl"]), File.ReadAllText(tmp["codes/docs.jsonl"]));
        Assert.Equal("tok5", codes.TokenText(5));
        var a = ActivationDump.Concat(acts.ReadBlocks().ToList());
        var c = ActivationDump.Concat(codes.ReadBlocks().ToList());
        Assert.Equal(a.DocIds, c.DocIds);
        Assert.Equal(a.Positions, c.Positions);
        Assert.Equal(a.IsSpecial, c.IsSpecial);
        var want = sae.Encode(a.Data, a.Rows);
        for (int i = 0; i < want.Length; i++) Assert.Equal((float)(Half)want[i], c.Data[i]);
    }

    [Fact]
    public void Encode_of_a_jumprelu_SAE_sizes_k_to_the_largest_row()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32);
        var (code, _, stderr) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"], "--arch", "batchtopk", "--latents", "128", "--k", "4",
            "--tokens", "40000", "--batch", "512", "--lr", "0.004");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = CliHarness.Run("encode", "--acts", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["codes"], "--dtype", "f32");
        Assert.True(code == 0, stderr);
        var sae = SaeLensFormat.Load(tmp["sae"]);
        Assert.Equal("jumprelu", sae.Config.Architecture);
        var codes = ActivationDump.Open(tmp["codes"]);
        var a = ActivationDump.Concat(ActivationDump.Open(tmp["acts"]).ReadBlocks().ToList());
        var want = sae.Encode(a.Data, a.Rows);
        int maxL0 = Enumerable.Range(0, a.Rows).Max(t => want.Skip(t * 128).Take(128).Count(v => v > 0));
        Assert.Equal(maxL0, codes.Meta.K);
        Assert.Equal(want, ActivationDump.Concat(codes.ReadBlocks().ToList()).Data);
    }

    [Fact]
    public void Weak_L1_relu_training_warns_on_stderr_and_in_the_json()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32);
        var (code, stdout, stderr) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"], "--arch", "relu", "--l1", "0.0001",
            "--latents", "128", "--tokens", "100000", "--batch", "512", "--lr", "0.004", "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("WARNING", stderr);
        Assert.Contains("saeguard analyze", stderr);
        var warnings = JsonDocument.Parse(stdout).RootElement.GetProperty("warnings");
        Assert.True(warnings.GetArrayLength() >= 1);
    }

    [Fact]
    public void Wrong_width_in_meta_json_is_a_user_error()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32);
        var meta = File.ReadAllText(tmp["acts/meta.json"]).Replace("\"d\": 32", "\"d\": 48");
        File.WriteAllText(tmp["acts/meta.json"], meta);
        var (code, _, stderr) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"]);
        Assert.Equal(1, code);
        Assert.Contains("shard_00000.safetensors", stderr);
        Assert.Contains("48", stderr);
        Assert.False(File.Exists(tmp["sae/cfg.json"]));
    }

    [Fact]
    public void Encoding_with_an_SAE_of_another_width_is_a_user_error()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32);
        SaeTestDumps.Write(tmp["acts16"], X.AsSpan(0, 1000 * 16).ToArray(), 16);
        Assert.Equal(0, CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"], "--latents", "64", "--k", "4", "--tokens", "5000", "--batch", "512").Code);
        var (code, _, stderr) = CliHarness.Run("encode", "--acts", tmp["acts16"], "--sae", tmp["sae"], "--out", tmp["codes"]);
        Assert.Equal(1, code);
        Assert.Contains("16 wide", stderr);
        Assert.Contains("d_in = 32", stderr);
        Assert.False(Directory.Exists(tmp["codes"]));
    }

    [Fact]
    public void A_NaN_row_is_reported_with_its_shard_and_row()
    {
        using var tmp = new TempDir();
        var x = (float[])X.Clone();
        x[1337 * 32 + 5] = float.NaN;
        SaeTestDumps.Write(tmp["acts"], x, 32, maxShardBytes: 1000 * 32 * 4);
        var (code, _, stderr) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"], "--latents", "64", "--k", "4", "--tokens", "20000", "--batch", "512");
        Assert.Equal(1, code);
        Assert.Contains("shard_00001.safetensors", stderr);
        Assert.Contains("row 337 ", stderr);
        Assert.Contains("NaN", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(tmp["sae/cfg.json"]));
    }

    [Fact]
    public void K_not_below_the_latent_count_is_a_user_error()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32);
        var (code, _, stderr) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"], "--latents", "64", "--k", "64");
        Assert.Equal(1, code);
        Assert.Contains("k = 64 must be smaller than the number of latents (64)", stderr);
        Assert.False(Directory.Exists(tmp["sae"]));
    }

    [Fact]
    public void A_truncated_shard_is_a_user_error()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32, maxShardBytes: 1000 * 32 * 4);
        var shard = tmp["acts/shard_00002.safetensors"];
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes.AsSpan(0, bytes.Length - 777).ToArray());
        foreach (var args in new[] { new[] { "train", "--acts", tmp["acts"], "--out", tmp["sae"] }, new[] { "encode", "--acts", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["codes"] } })
        {
            var (code, _, stderr) = CliHarness.Run(args);
            Assert.Equal(1, code);
            Assert.Contains("shard_00002.safetensors", stderr);
        }
        Assert.False(Directory.Exists(tmp["codes"]));
    }
}
