using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using SaeGuard.Sae;
using SaeGuard.Sae.Architectures;
using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Device;
using SaeGuard.Sae.Training;

// The device check: (1) the device kernels against the CPU backend on a small problem (same weights
// after N steps) and device encoding (TopK and JumpReLU) against the host encoder, (2) SGEMM GFLOP/s
// (tiled kernel, cuBLAS where it loads), training tokens/s and encode tokens/s at d=384/m=6144 and
// d=4096/m=20480 (k=32, batch 4096), (3) one JSON line on stdout.
// Usage: gpu-check [--device cuda|ilgpu-cpu] [--steps N] [--check-only] [--small]

var argv = args;
string Arg(string name, string def) { int i = Array.IndexOf(argv, name); return i >= 0 && i + 1 < argv.Length ? argv[i + 1] : def; }
var deviceName = Arg("--device", SaeDevice.CudaName);
int checkSteps = int.Parse(Arg("--steps", "10"));
bool checkOnly = argv.Contains("--check-only");
var result = new Dictionary<string, object?> { ["tool"] = "saeguard gpu-check", ["utc"] = DateTime.UtcNow.ToString("u") };
SaeGuard.Common.ProgressBar.Silent = true;
try
{
    var device = SaeDevice.Resolve(deviceName);
    if (!device.IsIlgpu) throw new SaeGuard.Common.UserError("--device must be cuda or ilgpu-cpu.");
    result["device"] = device.Name;

    // (1) correctness on a small problem
    const double tolerance = 1e-3;
    var check = Correctness(device, checkSteps);
    result["check"] = new Dictionary<string, object?>
    {
        ["d"] = 64, ["m"] = 512, ["k"] = 8, ["batch"] = 256, ["steps"] = checkSteps, ["tolerance_relative"] = tolerance,
        ["max_weight_difference_relative"] = check.Weights, ["relu_max_weight_difference_relative"] = check.Relu,
        ["gemm_tiled_relative"] = check.Gemm, ["gemm_cublas_relative"] = check.CuBlas,
        ["pass"] = check.Weights <= tolerance && check.Relu <= tolerance && check.Gemm <= 1e-4 && (check.CuBlas is null or <= 1e-4),
    };
    // encoding: the same active latents on (almost) every row; a row may flip where a value sits
    // within rounding of the k-th value or the threshold (FMA contraction in PTX)
    var enc = EncodeCheck(device);
    bool encPass = enc.All(e => e.MismatchRows <= 1 && e.Values <= 1e-4);
    result["encode_check"] = new Dictionary<string, object?>
    {
        ["d"] = 64, ["m"] = 512, ["rows"] = 1000, ["pass"] = encPass,
        ["architectures"] = enc.Select(e => (object)new Dictionary<string, object?>
        {
            ["architecture"] = e.Arch, ["rows_with_other_active_set"] = e.MismatchRows, ["max_value_difference_relative"] = e.Values,
        }).ToList(),
    };
    ((Dictionary<string, object?>)result["check"]!)["pass"] = (bool)((Dictionary<string, object?>)result["check"]!)["pass"]! && encPass;
    if (!checkOnly)
    {
        var shapes = argv.Contains("--small") ? new[] { (64, 512) } : new[] { (384, 6144), (4096, 20480) };
        var perf = new List<object>();
        foreach (var (d, m) in shapes) perf.Add(Measure(device, d, m));
        result["performance"] = perf;
    }
    Console.WriteLine(Node(result)!.ToJsonString());
    return (bool)((Dictionary<string, object?>)result["check"]!)["pass"]! ? 0 : 3;
}
catch (SaeGuard.Common.UserError e)
{
    result["error"] = e.Message;
    Console.WriteLine(Node(result)!.ToJsonString());
    return 1;
}

// JSON without reflection (the publish is trimmed)
static JsonNode? Node(object? o) => o switch
{
    null => null,
    Dictionary<string, object?> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, Node(kv.Value)))),
    List<object> l => new JsonArray(l.Select(Node).ToArray()),
    string s => JsonValue.Create(s),
    bool b => JsonValue.Create(b),
    int i => JsonValue.Create(i),
    double x => double.IsFinite(x) ? JsonValue.Create(x) : JsonValue.Create(x.ToString()),
    _ => JsonValue.Create(o.ToString()),
};

static float[] Gaussian(int n, int seed)
{
    var rng = new Random(seed);
    var x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
    return x;
}

static double MaxRel(float[] e, float[] a)
{
    double scale = Math.Max(1e-30, e.Max(v => Math.Abs((double)v)));
    double worst = 0;
    for (int i = 0; i < e.Length; i++) worst = Math.Max(worst, Math.Abs(e[i] - (double)a[i]) / scale);
    return worst;
}

static (double Weights, double Gemm, double? CuBlas, double Relu) Correctness(SaeDevice device, int steps)
{
    int d = 64, m = 512, k = 8, batch = 256;
    // sparse planted data: rows are sums of a few random atoms plus noise, so TopK has clear winners
    var atoms = Gaussian(96 * d, 1);
    var rng = new Random(2);
    var x = new float[batch * 16 * d];
    for (int t = 0; t < batch * 16; t++)
        for (int atom = 0; atom < 3; atom++)
        {
            int j = rng.Next(96); float c = (float)(0.5 + rng.NextDouble());
            for (int i = 0; i < d; i++) x[t * d + i] += c * atoms[j * d + i];
        }
    var o = new SaeTrainOptions
    {
        Arch = SaeArchitectures.TopK.Name, Latents = m, K = k, BatchSize = batch, Tokens = (long)steps * batch, Lr = 2e-3, Seed = 1,
        DeadAfterTokens = 2L * batch, HeldOutFraction = 0, WarmupSteps = 0, Threads = 0,
    };
    var cpu = SaeTrainer.Run(new MemoryTrainData(x, d), o with { Device = SaeDevice.CpuName });
    var dev = SaeTrainer.Run(new MemoryTrainData(x, d), o with { Device = device.Name.StartsWith("cuda") ? SaeDevice.CudaName : device.Name });
    static double Weights(SaeModel a, SaeModel b) =>
        new[] { MaxRel(a.WEnc, b.WEnc), MaxRel(a.WDec, b.WDec), MaxRel(a.BEnc, b.BEnc), MaxRel(a.BDec, b.BDec) }.Max();
    double w = Weights(cpu.Model, dev.Model);
    // ReLU + L1 on the device (every positive entry kept: k = m)
    var ro = o with { Arch = SaeArchitectures.Relu.Name, L1 = 0.5 };
    var cpuRelu = SaeTrainer.Run(new MemoryTrainData(x, d), ro with { Device = SaeDevice.CpuName });
    var devRelu = SaeTrainer.Run(new MemoryTrainData(x, d), ro with { Device = device.Name.StartsWith("cuda") ? SaeDevice.CudaName : device.Name });
    double relu = Weights(cpuRelu.Model, devRelu.Model);

    int n = 300, kk = 200, mm = 700;
    var a = Gaussian(n * kk, 3); var b = Gaussian(mm * kk, 4); var bias = Gaussian(mm, 5);
    var expected = new float[n * mm];
    using (var be = new CpuBackend()) be.Gemm(a, n, kk, b, mm, true, bias, expected);
    var (ctx, acc) = device.Open();
    using (ctx) using (acc)
    {
        using var da = acc.Allocate1D(a); using var db = acc.Allocate1D(b); using var dbias = acc.Allocate1D(bias); using var dc = acc.Allocate1D<float>(n * mm);
        var gemm = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(GemmKernel.Run);
        gemm(GemmKernel.Config(n, mm), da.View, db.View, dbias.View, dc.View, n, kk, mm);
        acc.Synchronize();
        double tiled = MaxRel(expected, dc.GetAsArray1D());
        double? cublas = null;
        if (acc is CudaAccelerator cuda)
        {
            try
            {
                using var blas = new CuBlas(cuda);
                blas.Gemm(CuBlasOperation.Transpose, CuBlasOperation.NonTranspose, mm, n, kk, 1f, db.View, kk, da.View, kk, 0f, dc.View, mm);
                acc.Synchronize();
                var c = dc.GetAsArray1D();
                for (int r = 0; r < n; r++) for (int j = 0; j < mm; j++) c[r * mm + j] += bias[j];
                cublas = MaxRel(expected, c);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or CudaException)
            {
                Console.Error.WriteLine($"gpu-check: cuBLAS did not load ({e.Message}); tiled kernel only.");
            }
        }
        return (w, tiled, cublas, relu);
    }
}

static SaeModel ToySae(string arch, int d, int m, int k, int seed)
{
    var wEnc = Gaussian(d * m, seed);
    var wDec = Gaussian(m * d, seed + 1);
    var bEnc = Gaussian(m, seed + 2).Select(v => 0.1f * v).ToArray();
    var bDec = Gaussian(d, seed + 3).Select(v => 0.1f * v).ToArray();
    float[]? theta = arch == "jumprelu" ? Gaussian(m, seed + 4).Select(v => 2f + Math.Abs(v)).ToArray() : null;
    var cfg = new SaeConfig { DIn = d, DSae = m, Architecture = arch, K = arch == "topk" ? k : 0, ApplyBDecToInput = true };
    return new SaeModel(cfg, wEnc, bEnc, wDec, bDec, theta);
}

static List<(string Arch, int MismatchRows, double Values)> EncodeCheck(SaeDevice device)
{
    int d = 64, m = 512, rows = 1000;
    var x = Gaussian(rows * d, 11);
    var res = new List<(string, int, double)>();
    foreach (var arch in new[] { "topk", "jumprelu" })
    {
        var sae = ToySae(arch, d, m, 8, 20);
        var cpu = sae.Encode(x, rows);
        var dev = new float[rows * m];
        using (var e = new DeviceSaeEncoder(sae, device, 256)) e.Encode(x, rows, dev);
        int bad = 0;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < m; j++)
                if (cpu[r * m + j] != 0 != (dev[r * m + j] != 0)) { bad++; break; }
        res.Add((arch, bad, MaxRel(cpu, dev)));
    }
    return res;
}

static double EncodeRate(SaeDevice device, int d, int m, int k, int batch)
{
    const int reps = 5;
    var sae = ToySae("topk", d, m, k, 30);
    var x = Gaussian(batch * d, 12);
    var codes = new float[(long)batch * m];
    using var e = new DeviceSaeEncoder(sae, device, batch);
    e.Encode(x, batch, codes);
    var sw = Stopwatch.StartNew();
    for (int r = 0; r < reps; r++) e.Encode(x, batch, codes);
    return (double)reps * batch / sw.Elapsed.TotalSeconds;
}

static object Measure(SaeDevice device, int d, int m)
{
    const int k = 32, batch = 4096, reps = 10;
    var res = new Dictionary<string, object?> { ["d"] = d, ["m"] = m, ["k"] = k, ["batch"] = batch };
    double flop = 2.0 * batch * d * m;
    var (ctx, acc) = device.Open();
    using (ctx) using (acc)
    {
        using var da = acc.Allocate1D(Gaussian(batch * d, 6)); using var db = acc.Allocate1D(Gaussian(m * d, 7));
        using var dbias = acc.Allocate1D<float>(m); using var dc = acc.Allocate1D<float>((long)batch * m);
        dbias.MemSetToZero();
        var gemm = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(GemmKernel.Run);
        double Time(Action run)
        {
            run(); acc.Synchronize();
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++) run();
            acc.Synchronize();
            return sw.Elapsed.TotalSeconds / reps;
        }
        res["sgemm_tiled_gflops"] = flop / Time(() => gemm(GemmKernel.Config(batch, m), da.View, db.View, dbias.View, dc.View, batch, d, m)) / 1e9;
        if (acc is CudaAccelerator cuda)
        {
            try
            {
                using var blas = new CuBlas(cuda);
                res["sgemm_cublas_gflops"] = flop / Time(() => blas.Gemm(CuBlasOperation.Transpose, CuBlasOperation.NonTranspose, m, batch, d, 1f, db.View, d, da.View, d, 0f, dc.View, m)) / 1e9;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or CudaException) { res["sgemm_cublas_gflops"] = null; res["cublas_error"] = e.Message; }
        }
    }
    foreach (var gemmKind in new[] { DeviceGemm.Tiled, DeviceGemm.CuBlas })
    {
        if (gemmKind == DeviceGemm.CuBlas && device.Kind != SaeDeviceKind.Cuda) continue;
        try { res[$"train_tokens_per_s_{(gemmKind == DeviceGemm.Tiled ? "tiled" : "cublas")}"] = TrainRate(device, d, m, k, batch, gemmKind); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or CudaException) { res["train_cublas_error"] = e.Message; }
    }
    // encode: GEMM + top-k on the device, dense codes copied back (as encode --device does)
    res["encode_tokens_per_s"] = EncodeRate(device, d, m, k, batch);
    return res;
}

static double TrainRate(SaeDevice device, int d, int m, int k, int batch, DeviceGemm gemm)
{
    const int warm = 2, steps = 10;
    var o = new SaeTrainOptions { Arch = SaeArchitectures.TopK.Name, Latents = m, K = k, BatchSize = batch, DeadAfterTokens = 10L * batch, Device = device.Name };
    var arch = SaeArchitectures.TopK.CreateTraining(o, d, m);
    var p = new SaeParams(d, m, false);
    var w = Gaussian(m * d, 8);
    using (var be = new CpuBackend()) be.NormalizeRows(w, m, d);
    Array.Copy(w, p.WDec, w.Length); Array.Copy(w, p.WEncT, w.Length);
    var adam = new AdamOptimizer(d, m, false, 0.9, 0.999);
    var tracker = new FiringTracker(m, o.DeadAfterTokens);
    using var train = new IlgpuTrainingBackend(device, arch, o, d, m, batch, gemm);
    train.Push(p, adam, tracker);
    var x = Gaussian(batch * d, 9);
    Array.Copy(x, train.Batch, x.Length);
    for (int s = 0; s < warm; s++) train.Step(batch, 1e-4f, 0);
    var sw = Stopwatch.StartNew();
    for (int s = 0; s < steps; s++) train.Step(batch, 1e-4f, 0);
    return (double)steps * batch / sw.Elapsed.TotalSeconds;
}
