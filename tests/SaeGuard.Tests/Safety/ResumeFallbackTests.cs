using SaeGuard.Activations;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Sae;

namespace SaeGuard.Tests.Safety;

/// <summary>Issue 12, case 7: --resume on a damaged newest checkpoint falls back to the previous kept one, exactly.</summary>
public class ResumeFallbackTests
{
    static readonly float[] X = SaeTestDumps.Planted(6000, 32, 64, 31);

    static SaeTrainOptions Options => new()
    {
        Arch = "topk", Latents = 128, K = 4, Tokens = 24 * 512, BatchSize = 512, Lr = 4e-3, Seed = 7, DeadAfterTokens = 2048, LogEvery = 3,
        CheckpointEvery = 4 * 512, KeepCheckpoints = 2,
    };

    [Fact]
    public void A_damaged_newest_checkpoint_falls_back_to_the_previous_one_and_the_result_equals_a_straight_run()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32, rowsPerDoc: 40);
        var acts = ActivationDump.Open(tmp["acts"]);
        var straight = SaeTrainer.Run(acts, Options, tmp["a"]);

        var first = SaeTrainer.Run(acts, Options with { StopAfterTokens = 11 * 512 }, tmp["b"]);
        Assert.False(first.Completed);
        var kept = TrainCheckpoint.List(tmp["b/checkpoints"]);
        Assert.Equal(new[] { "step_00000008", "step_00000011" }, kept.Select(Path.GetFileName));
        var weights = Path.Combine(kept[1], "state.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[bytes.Length / 2] ^= 0x40; // one flipped bit in the newest weights
        File.WriteAllBytes(weights, bytes);

        var said = new List<string>();
        var (dir, ck, _, _, _) = TrainCheckpoint.LoadNewestIntact(kept, said.Add);
        Assert.Equal(kept[0], dir);
        Assert.Equal(8, ck.Step);
        Assert.Contains(said, s => s.Contains("step_00000011") && s.Contains("damaged"));
        Assert.Contains(said, s => s.Contains("resuming from the previous checkpoint 'step_00000008' (step 8)"));

        var resumed = SaeTrainer.Run(acts, Options, tmp["b"], resume: true);
        Assert.True(resumed.Completed);
        Assert.Equal(24, resumed.Steps);
        Assert.Equal(straight.Model.WEnc, resumed.Model.WEnc);
        Assert.Equal(straight.Model.WDec, resumed.Model.WDec);
        Assert.Equal(straight.Model.BEnc, resumed.Model.BEnc);
        Assert.Equal(straight.Model.BDec, resumed.Model.BDec);
        Assert.Equal(File.ReadAllBytes(tmp["a/sae_weights.safetensors"]), File.ReadAllBytes(tmp["b/sae_weights.safetensors"]));
    }

    [Fact]
    public void When_every_checkpoint_is_damaged_resume_says_so()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32, rowsPerDoc: 40);
        var acts = ActivationDump.Open(tmp["acts"]);
        SaeTrainer.Run(acts, Options with { StopAfterTokens = 5 * 512 }, tmp["b"]);
        foreach (var d in TrainCheckpoint.List(tmp["b/checkpoints"]))
            File.WriteAllText(Path.Combine(d, "state.json"), "{ broken");
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => SaeTrainer.Run(acts, Options, tmp["b"], resume: true));
        Assert.Contains("every checkpoint is damaged", e.Message);
    }
}
