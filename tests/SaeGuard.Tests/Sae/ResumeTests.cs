using SaeGuard.Activations;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Sae;

public class ResumeTests
{
    static readonly float[] X = SaeTestDumps.Planted(6000, 32, 64, 31);

    static SaeTrainOptions Options(string arch) => new()
    {
        // a short dead window so AuxK and the firing tracker are part of the state being resumed
        Arch = arch, Latents = 128, K = 4, L1 = 1.0, Tokens = 24 * 512, BatchSize = 512, Lr = 4e-3, Seed = 7, DeadAfterTokens = 2048, LogEvery = 3,
    };

    [Theory]
    [InlineData("topk")]
    [InlineData("batchtopk")]
    [InlineData("jumprelu")]
    [InlineData("relu")]
    public void Stop_and_resume_gives_the_same_weights_as_a_straight_run(string arch)
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32, rowsPerDoc: 40);
        var acts = ActivationDump.Open(tmp["acts"]);
        var straight = SaeTrainer.Run(acts, Options(arch), tmp["a"]);
        Assert.True(straight.Completed);

        var first = SaeTrainer.Run(acts, Options(arch) with { StopAfterTokens = 11 * 512 }, tmp["b"]);
        Assert.False(first.Completed);
        Assert.Equal(11, first.Steps);
        Assert.False(File.Exists(tmp["b/cfg.json"]));
        Assert.Single(TrainCheckpoint.List(tmp["b/checkpoints"]));
        var resumed = SaeTrainer.Run(acts, Options(arch), tmp["b"], resume: true);
        Assert.True(resumed.Completed);
        Assert.Equal(24, resumed.Steps);

        foreach (var (a, b) in new[] { (straight.Model.WEnc, resumed.Model.WEnc), (straight.Model.WDec, resumed.Model.WDec), (straight.Model.BEnc, resumed.Model.BEnc), (straight.Model.BDec, resumed.Model.BDec) })
            Assert.Equal(a, b);
        Assert.Equal(straight.Model.Threshold, resumed.Model.Threshold);
        // and the saved folders agree too
        Assert.Equal(File.ReadAllBytes(tmp["a/sae_weights.safetensors"]), File.ReadAllBytes(tmp["b/sae_weights.safetensors"]));
        var lines = File.ReadAllLines(tmp["b/metrics.jsonl"]);
        Assert.Equal("heldout", System.Text.Json.JsonDocument.Parse(lines[^1]).RootElement.GetProperty("split").GetString());
    }

    [Fact]
    public void Resuming_with_different_options_is_refused()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32);
        var acts = ActivationDump.Open(tmp["acts"]);
        SaeTrainer.Run(acts, Options("topk") with { StopAfterTokens = 4 * 512 }, tmp["out"]);
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => SaeTrainer.Run(acts, Options("topk") with { K = 6 }, tmp["out"], resume: true));
        Assert.Contains("K was 4, now 6", e.Message);
        var none = Assert.Throws<SaeGuard.Common.UserError>(() => SaeTrainer.Run(acts, Options("topk"), tmp["empty"], resume: true));
        Assert.Contains("no checkpoint", none.Message);
    }
}
