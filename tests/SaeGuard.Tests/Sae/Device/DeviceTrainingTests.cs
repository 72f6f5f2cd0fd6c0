using SaeGuard.Common;
using SaeGuard.Sae;
using SaeGuard.Sae.Device;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Sae.Device;

/// <summary>Training on ILGPU's CPU accelerator against the CPU backend, and device selection.</summary>
public class DeviceTrainingTests
{
    const int D = 12, M = 40;
    static readonly float[] X = SaeTestDumps.Planted(1600, D, 24, 5);

    static SaeTrainOptions Options(string device) => new()
    {
        // ten steps; a short dead window so AuxK runs too
        Arch = "topk", Latents = M, K = 3, BatchSize = 32, Tokens = 10 * 32, Lr = 4e-3, Seed = 3, DeadAfterTokens = 64,
        HeldOutFraction = 0, WarmupSteps = 0, ScaleEstimateBatches = 2, Threads = 2, Device = device,
    };

    static void AssertSameWeights(SaeModel expected, SaeModel actual, double relative)
    {
        foreach (var (name, e, a) in new[] { ("W_enc", expected.WEnc, actual.WEnc), ("b_enc", expected.BEnc, actual.BEnc), ("W_dec", expected.WDec, actual.WDec), ("b_dec", expected.BDec, actual.BDec) })
        {
            double scale = Math.Max(1e-30, e.Max(v => Math.Abs((double)v)));
            double worst = e.Zip(a, (p, q) => Math.Abs(p - (double)q)).Max() / scale;
            Assert.True(worst <= relative, $"{name}: max difference {worst:E2} of its largest value (limit {relative:E0}).");
        }
    }

    [Fact]
    public void Ten_steps_on_the_ilgpu_cpu_accelerator_give_the_cpu_backends_weights()
    {
        var cpu = SaeTrainer.Run(new MemoryTrainData(X, D), Options("cpu"));
        var dev = SaeTrainer.Run(new MemoryTrainData(X, D), Options("ilgpu-cpu"));
        Assert.Equal(10, dev.Steps);
        Assert.Equal("ilgpu-cpu", dev.Device);
        Assert.Equal("cpu", cpu.Device);
        Assert.True(cpu.History.Any(h => h.AuxLoss > 0), "AuxK should have run (dead latents within ten steps).");
        AssertSameWeights(cpu.Model, dev.Model, 1e-4);
        Assert.Equal(cpu.Final.L0, dev.Final.L0, 6);
        Assert.Equal(cpu.Final.Mse, dev.Final.Mse, 1e-4 * Math.Max(1, cpu.Final.Mse));
        Assert.Equal(cpu.Final.DeadFraction, dev.Final.DeadFraction, 9);
    }

    [Theory]
    [InlineData("cpu", "ilgpu-cpu")]
    [InlineData("ilgpu-cpu", "cpu")]
    public void A_checkpoint_written_on_one_device_resumes_on_the_other(string first, string second)
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, D, rowsPerDoc: 40);
        var acts = global::SaeGuard.Activations.ActivationDump.Open(tmp["acts"]);
        var straight = SaeTrainer.Run(acts, Options("cpu"), tmp["a"]);
        var part = SaeTrainer.Run(acts, Options(first) with { StopAfterTokens = 5 * 32 }, tmp["b"]);
        Assert.False(part.Completed);
        var resumed = SaeTrainer.Run(acts, Options(second), tmp["b"], resume: true);
        Assert.True(resumed.Completed);
        Assert.Equal(straight.Steps, resumed.Steps);
        AssertSameWeights(straight.Model, resumed.Model, 1e-4);
        var lines = File.ReadAllLines(Path.Combine(tmp["b"], "metrics.jsonl"));
        Assert.Contains(lines, l => l.Contains($"\"device\":\"{second}\""));
        Assert.Contains($"\"device\": \"{second}\"", File.ReadAllText(Path.Combine(tmp["b"], "cfg.json")));
    }

    [Fact]
    public void Asking_for_cuda_without_a_device_is_a_user_error_that_says_what_was_looked_for()
    {
        var cuda = SaeDevice.FindCuda(out var why);
        if (cuda != null)
        {
            Assert.Equal(SaeDeviceKind.Cuda, SaeDevice.Resolve("cuda").Kind);
            Assert.Equal(SaeDeviceKind.Cuda, SaeDevice.Resolve("auto").Kind);
            return;
        }
        var e = Assert.Throws<UserError>(() => SaeDevice.Resolve("cuda"));
        Assert.Contains("no CUDA device", e.Message);
        Assert.Contains("libcuda", e.Message);
        Assert.Equal(SaeDeviceKind.Cpu, SaeDevice.Resolve("auto").Kind);
        Assert.Throws<UserError>(() => SaeDevice.Resolve("tpu"));

        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, D, rowsPerDoc: 40);
        var (code, _, stderr) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["sae"], "--latents", "40", "--k", "3", "--device", "cuda");
        Assert.Equal(1, code);
        Assert.Contains("no CUDA device", stderr);
        Assert.Contains("libcuda", stderr);
        Assert.False(File.Exists(Path.Combine(tmp["sae"], "cfg.json")));
    }
}
