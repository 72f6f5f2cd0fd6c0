using SaeGuard.Activations;
using SaeGuard.Analysis;
using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.Sae;
using SaeGuard.Sae.Device;
using SaeGuard.Tests.Analysis;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Sae.Device;

/// <summary>
/// Encoding on ILGPU's CPU accelerator (<see cref="DeviceSaeEncoder"/>, <c>encode --device</c>,
/// <c>analyze --sae --device</c>) against the host encoder: identical active sets and indices (ties to
/// the lower index), values to 1e-5, the same feature statistics.
/// </summary>
public class DeviceEncodeTests
{
    static readonly SaeDevice IlgpuCpu = SaeDevice.Resolve(SaeDevice.IlgpuCpuName);

    /// <summary>The toy SAE re-dressed as another inference architecture (a JumpReLU gets per-latent thresholds).</summary>
    static SaeModel As(SaeModel topk, string arch, int seed)
    {
        var rng = new Random(seed);
        float[]? theta = arch == "jumprelu" ? Enumerable.Range(0, topk.DSae).Select(_ => (float)(0.2 + rng.NextDouble())).ToArray() : null;
        return new SaeModel(topk.Config with { Architecture = arch, K = 0 }, topk.WEnc, topk.BEnc, topk.WDec, topk.BDec, theta);
    }

    static void AssertSameCodes(float[] cpu, float[] dev, int m, string what)
    {
        Assert.Equal(cpu.Length, dev.Length);
        double scale = cpu.Max(v => Math.Abs((double)v));
        for (int i = 0; i < cpu.Length; i++)
        {
            Assert.True(cpu[i] != 0 == (dev[i] != 0), $"{what}: row {i / m}, latent {i % m}: cpu {cpu[i]}, device {dev[i]} (active sets differ)");
            Assert.True(Math.Abs(cpu[i] - dev[i]) <= 1e-5 * scale, $"{what}: row {i / m}, latent {i % m}: cpu {cpu[i]}, device {dev[i]}");
        }
    }

    [Theory]
    [InlineData("topk")]
    [InlineData("jumprelu")]
    [InlineData("relu")]
    public void Device_encoder_gives_the_host_codes(string arch)
    {
        var (toy, x, _) = SyntheticSae.Make(150, 7, bEnc: -0.1f);
        var sae = arch == "topk" ? toy : As(toy, arch, 3);
        int rows = 150, m = sae.DSae;
        var cpu = sae.Encode(x, rows);
        // blocks of 64 rows: the last device pass is ragged
        using var enc = new DeviceSaeEncoder(sae, IlgpuCpu, blockRows: 64);
        var dev = new float[rows * m];
        var pre = new float[rows * m];
        enc.Encode(x, rows, dev, pre);
        AssertSameCodes(cpu, dev, m, arch);
        var cpuPre = new float[rows * m];
        sae.PreActivations(x, rows, cpuPre);
        double scale = cpuPre.Max(v => Math.Abs((double)v));
        for (int i = 0; i < cpuPre.Length; i++) Assert.True(Math.Abs(cpuPre[i] - pre[i]) <= 1e-5 * scale, $"pre {i}: {cpuPre[i]} vs {pre[i]}");
        int active = cpu.Count(v => v != 0);
        Assert.True(active > rows, $"{arch}: only {active} active codes; the comparison would be empty");
        if (arch == "topk") Assert.Equal(rows * sae.Config.K, active);
    }

    [Fact]
    public void Device_top_k_breaks_planted_ties_by_the_lower_index_as_the_host_does()
    {
        // integer weights and inputs: every GEMM order gives the same exact values, so the ties are real
        int d = 4, m = 8;
        var wEncT = new float[,] { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 }, { 0, 0, 0, 1 }, { 0.5f, 0, 0, 0 } };
        var wEnc = new float[d * m];
        for (int j = 0; j < m; j++) for (int i = 0; i < d; i++) wEnc[i * m + j] = wEncT[j, i];
        var cfg = new SaeConfig { DIn = d, DSae = m, Architecture = "topk", K = 2 };
        var sae = new SaeModel(cfg, wEnc, new float[m], new float[m * d], new float[d]);
        // pre = [3, 2, 2, 2, 2, 1, 1, 1.5] → {0, 1}; [0, 1, 1, 1, 1, 1, 1, 0] → {1, 2}; [1, 0, 0, 0, 0, 2, 2, 0.5] → {5, 6}
        var x = new float[] { 3, 2, 2, 1, 0, 1, 1, 1, 1, 0, 0, 2 };
        var expected = new[] { new[] { 0, 1 }, new[] { 1, 2 }, new[] { 5, 6 } };
        var cpu = sae.Encode(x, 3);
        using var enc = new DeviceSaeEncoder(sae, IlgpuCpu);
        var dev = new float[3 * m];
        enc.Encode(x, 3, dev);
        for (int r = 0; r < 3; r++)
        {
            Assert.Equal(expected[r], Enumerable.Range(0, m).Where(j => cpu[r * m + j] != 0).ToArray());
            Assert.Equal(expected[r], Enumerable.Range(0, m).Where(j => dev[r * m + j] != 0).ToArray());
        }
    }

    static (int[] Idx, float[] Val, int K) SparseCodes(string dir)
    {
        var dump = ActivationDump.Open(dir);
        Assert.Equal("sparse_topk", dump.Meta.Layout);
        int k = dump.Meta.K!.Value;
        var idx = new List<int>(); var val = new List<float>();
        foreach (var shard in dump.Meta.Shards)
        {
            using var r = new SafeTensorsReader(Path.Combine(dir, shard.File));
            idx.AddRange(r.ReadInts("topk_indices"));
            var v = new float[shard.Rows * k];
            r.ReadFloatRows("topk_values", 0, (int)shard.Rows, v);
            val.AddRange(v);
        }
        return (idx.ToArray(), val.ToArray(), k);
    }

    [Theory]
    [InlineData("topk")]
    [InlineData("jumprelu")]
    public void Encode_on_the_device_writes_the_host_codes_dump(string arch)
    {
        using var tmp = new TempDir();
        var (toy, x, _) = SyntheticSae.Make(230, 11, bEnc: -0.1f);
        var sae = arch == "topk" ? toy : As(toy, arch, 5);
        SyntheticSae.WriteDump(tmp["acts"], x, 230, SyntheticSae.DIn);
        var acts = ActivationDump.Open(tmp["acts"]);
        var cpuSum = CodesEncoder.Encode(acts, sae, tmp["cpu"], new EncodeOptions { F16 = false, BlockRows = 100 });
        var devSum = CodesEncoder.Encode(acts, sae, tmp["dev"], new EncodeOptions { F16 = false, BlockRows = 100, Device = SaeDevice.IlgpuCpuName });
        Assert.Equal("cpu", cpuSum.Device);
        Assert.Equal("ilgpu-cpu", devSum.Device);
        Assert.Equal("ilgpu-cpu", ActivationDump.Open(tmp["dev"]).Meta.Extra!["device"]);
        Assert.Equal(cpuSum.K, devSum.K);
        Assert.Equal(cpuSum.MaxL0, devSum.MaxL0);
        Assert.Equal(cpuSum.MeanL0, devSum.MeanL0);
        var (ci, cv, k) = SparseCodes(tmp["cpu"]);
        var (di, dv, _) = SparseCodes(tmp["dev"]);
        Assert.True(k > 1);
        Assert.Equal(ci, di);
        double scale = cv.Max(v => Math.Abs((double)v));
        for (int e = 0; e < cv.Length; e++) Assert.True(Math.Abs(cv[e] - dv[e]) <= 1e-5 * scale, $"entry {e}: {cv[e]} vs {dv[e]}");
    }

    [Fact]
    public void Analyze_with_an_sae_on_the_device_gives_the_host_feature_statistics()
    {
        using var tmp = new TempDir();
        var (sae, x, _) = SyntheticSae.Make(400, 13);
        SyntheticSae.WriteDump(tmp["acts"], x, 400, SyntheticSae.DIn);
        SaeLensFormat.Save(sae, tmp["sae"]);
        var options = new AnalysisOptions { SampleTokens = 200, Seed = 1, Threads = 1 };
        AnalysisResult Run(string device)
        {
            var input = AnalysisInput.Open(tmp["acts"], tmp["sae"], seed: 1, device: device);
            using var enc = input.Encoder;
            return AnalysisRunner.Run(input, options, PcaMode.Centre);
        }
        var cpu = Run("cpu");
        var dev = Run("ilgpu-cpu");
        Assert.Equal("cpu", cpu.Facts.Device);
        Assert.Equal("ilgpu-cpu", dev.Facts.Device);
        Assert.Equal(cpu.Stats.ActiveCount, dev.Stats.ActiveCount);
        Assert.Equal(cpu.Stats.L0Histogram, dev.Stats.L0Histogram);
        Assert.True(cpu.Stats.ActiveCount.Sum() > 0);
        for (int j = 0; j < cpu.Stats.Width; j++)
        {
            Assert.True(Math.Abs(cpu.Stats.Mean[j] - dev.Stats.Mean[j]) <= 1e-5 * (1 + Math.Abs(cpu.Stats.Mean[j])), $"mean of {j}");
            Assert.True(Math.Abs(cpu.Stats.Max[j] - dev.Stats.Max[j]) <= 1e-5 * (1 + Math.Abs(cpu.Stats.Max[j])), $"max of {j}");
        }
        Assert.Equal(cpu.Reconstruction!.ExplainedVariance, dev.Reconstruction!.ExplainedVariance, 5);
        Assert.Equal(cpu.Reconstruction.PreActivationMean, dev.Reconstruction.PreActivationMean, 5);
        Assert.Equal(cpu.Diagnosis.Verdict, dev.Diagnosis.Verdict);
    }

    [Fact]
    public void Encode_and_analyze_with_device_cuda_exit_1_without_a_gpu_and_name_the_device_otherwise()
    {
        using var tmp = new TempDir();
        var (sae, x, _) = SyntheticSae.Make(60, 17);
        SyntheticSae.WriteDump(tmp["acts"], x, 60, SyntheticSae.DIn);
        SaeLensFormat.Save(sae, tmp["sae"]);
        if (SaeDevice.FindCuda(out _) == null)
        {
            var (code, _, err) = CliHarness.Run("encode", "--acts", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["codes"], "--device", "cuda");
            Assert.Equal(1, code);
            Assert.Contains("libcuda", err);
            (code, _, err) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["rep"], "--device", "cuda");
            Assert.Equal(1, code);
            Assert.Contains("libcuda", err);
        }
        var (c1, o1, e1) = CliHarness.Run("encode", "--acts", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["codes2"], "--device", "ilgpu-cpu", "--json");
        Assert.True(c1 == 0, e1);
        Assert.Contains("\"device\": \"ilgpu-cpu\"", o1.Replace("\":\"", "\": \""));
        var (c2, _, e2) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["rep2"], "--device", "ilgpu-cpu");
        Assert.True(c2 == 0, e2);
        var diag = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(tmp["rep2"], AnalysisReport.DiagnosisFile)))!;
        Assert.Equal("ilgpu-cpu", (string?)diag["input"]!["device"]);
        var (c3, _, e3) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--out", tmp["rep3"], "--device", "ilgpu-cpu");
        Assert.Equal(1, c3);
        Assert.Contains("--sae", e3);
    }
}
