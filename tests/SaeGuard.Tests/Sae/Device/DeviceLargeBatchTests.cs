using SaeGuard.Sae.Device;
using SaeGuard.Sae.Training;

namespace SaeGuard.Tests.Sae.Device;

/// <summary>
/// A step with more padded entries (rows × k) than one gradient-scatter launch may cover (a grid's Y
/// extent is 65,535; the seed's batch 4096 × k 32 is 131,072): the backend splits the launch, and the
/// weights still equal the CPU backend's.
/// </summary>
public class DeviceLargeBatchTests
{
    [Theory]
    [InlineData("topk")]
    [InlineData("relu")]
    public void Steps_with_more_entries_than_one_launch_give_the_cpu_backends_weights(string arch)
    {
        const int d = 8, m = 64, batch = 2100;
        int k = arch == "topk" ? 32 : m;
        Assert.True(batch * k > SparseKernels.MaxEntriesPerLaunch);
        var x = SaeTestDumps.Planted(batch * 3, d, 24, 9);
        var o = new SaeTrainOptions
        {
            Arch = arch, Latents = m, K = arch == "topk" ? k : 0, L1 = arch == "relu" ? 0.5 : null, BatchSize = batch, Tokens = 3L * batch,
            Lr = 4e-3, Seed = 2, DeadAfterTokens = 4L * batch, HeldOutFraction = 0, WarmupSteps = 0, ScaleEstimateBatches = 1, Threads = 2,
        };
        var cpu = SaeTrainer.Run(new MemoryTrainData(x, d), o with { Device = "cpu" });
        var dev = SaeTrainer.Run(new MemoryTrainData(x, d), o with { Device = "ilgpu-cpu" });
        Assert.Equal(3, dev.Steps);
        foreach (var (name, e, a) in new[] { ("W_enc", cpu.Model.WEnc, dev.Model.WEnc), ("W_dec", cpu.Model.WDec, dev.Model.WDec), ("b_enc", cpu.Model.BEnc, dev.Model.BEnc) })
        {
            double scale = e.Max(v => Math.Abs((double)v));
            double worst = e.Zip(a, (p, q) => Math.Abs(p - (double)q)).Max() / scale;
            Assert.True(worst <= 1e-4, $"{arch} {name}: max difference {worst:E2} of its largest value.");
        }
    }
}
