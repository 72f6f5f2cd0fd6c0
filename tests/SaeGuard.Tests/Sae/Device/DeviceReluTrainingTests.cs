using SaeGuard.Common;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;

namespace SaeGuard.Tests.Sae.Device;

/// <summary>ReLU + L1 training on ILGPU's CPU accelerator against the CPU backend (the TopK test's counterpart).</summary>
public class DeviceReluTrainingTests
{
    const int D = 12, M = 40;
    static readonly float[] X = SaeTestDumps.Planted(1600, D, 24, 5);

    static SaeTrainOptions Options(string device, string arch = "relu") => new()
    {
        Arch = arch, Latents = M, L1 = 0.5, BatchSize = 32, Tokens = 10 * 32, Lr = 4e-3, Seed = 3, DeadAfterTokens = 64,
        HeldOutFraction = 0, WarmupSteps = 0, ScaleEstimateBatches = 2, Threads = 2, Device = device,
    };

    [Fact]
    public void Ten_relu_steps_on_the_ilgpu_cpu_accelerator_give_the_cpu_backends_weights_and_losses()
    {
        var cpu = SaeTrainer.Run(new MemoryTrainData(X, D), Options("cpu"));
        var dev = SaeTrainer.Run(new MemoryTrainData(X, D), Options("ilgpu-cpu"));
        Assert.Equal(10, dev.Steps);
        Assert.Equal("ilgpu-cpu", dev.Device);
        foreach (var (name, e, a) in new[] { ("W_enc", cpu.Model.WEnc, dev.Model.WEnc), ("b_enc", cpu.Model.BEnc, dev.Model.BEnc), ("W_dec", cpu.Model.WDec, dev.Model.WDec), ("b_dec", cpu.Model.BDec, dev.Model.BDec) })
        {
            double scale = Math.Max(1e-30, e.Max(v => Math.Abs((double)v)));
            double worst = e.Zip(a, (p, q) => Math.Abs(p - (double)q)).Max() / scale;
            Assert.True(worst <= 1e-4, $"{name}: max difference {worst:E2} of its largest value.");
        }
        // the L1 term took part (else this would only be an unpenalised ReLU)
        Assert.True(cpu.History.Any(h => h.SparsityLoss > 0), "the L1 penalty should be non-zero");
        for (int i = 0; i < cpu.History.Count; i++)
            Assert.Equal(cpu.History[i].SparsityLoss, dev.History[i].SparsityLoss, 1e-4 * Math.Max(1, Math.Abs(cpu.History[i].SparsityLoss)));
        Assert.Equal(cpu.Final.L0, dev.Final.L0, 6);
        Assert.Equal(cpu.Final.Mse, dev.Final.Mse, 1e-4 * Math.Max(1, cpu.Final.Mse));
    }

    [Theory]
    [InlineData("jumprelu")]
    [InlineData("batchtopk")]
    public void Architectures_without_a_device_step_are_a_user_error(string arch)
    {
        var e = Assert.Throws<UserError>(() => SaeTrainer.Run(new MemoryTrainData(X, D), Options("ilgpu-cpu", arch) with { K = 3 }));
        Assert.Contains("--device cpu", e.Message);
    }
}
