using System.Diagnostics;
using System.Text.Json;
using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Training;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Bench;

/// <summary>
/// TopK SAE training throughput against the PyTorch reference (../shared/bench/torch_topk_reference.py)
/// on the same random data and settings: batch 4096, k = 32, AuxK with latents dead after 10 steps,
/// 3 warm-up steps then 30 timed ones, 2 threads. Also the share of the time in the dense GEMM and
/// the machine limit (GEMM GFLOP/s ÷ 2·d·m).
/// Debian's python3-torch calls the netlib reference BLAS unless OpenBLAS is installed; without a
/// system-wide install, give the peer an unpacked libopenblas0-pthread with --peer-blas DIR
/// (`apt-get download libopenblas0-pthread &amp;&amp; dpkg -x libopenblas0-pthread_*.deb root`, DIR =
/// root/usr/lib/x86_64-linux-gnu/openblas-pthread); it goes into the peer's LD_LIBRARY_PATH only.
/// </summary>
public sealed class SaeTrainBench : IBenchmark
{
    public string Name => "sae-train";
    public string Description => "SAE training tokens/s (d=384,m=6144 and d=768,m=12288; k=32) vs the PyTorch reference; GEMM share; machine limit";

    public void Run(string[] args)
    {
        bool peer = !args.Contains("--no-peer");
        int pb = Array.IndexOf(args, "--peer-blas");
        string? peerBlas = pb >= 0 && pb + 1 < args.Length ? args[pb + 1] : null;
        int steps = ArgInt(args, "--steps", 30), warm = ArgInt(args, "--warmup", 3), threads = ArgInt(args, "--threads", 2);
        var shapes = args.Contains("--small") ? new[] { (384, 6144) } : new[] { (384, 6144), (768, 12288) };
        foreach (var (d, m) in shapes)
        {
            const int k = 32, batch = 4096;
            var (gflops, sustained) = GemmGflops(batch, d, m, threads);
            double limit = gflops * 1e9 / (2.0 * d * m), limitSustained = sustained * 1e9 / (2.0 * d * m);
            var (tps, gemmShare, ev, phases) = Ours(d, m, k, batch, steps, warm, threads);
            Console.WriteLine($"d={d} m={m} k={k} batch={batch} threads={threads}");
            Console.WriteLine($"  GEMM (ONNX Runtime Gemm, transB): best {gflops:F0} GFLOP/s (best of 5, 512-row pieces or one call) → machine limit {limit:N0} tokens/s;");
            Console.WriteLine($"    sustained {sustained:F0} GFLOP/s (mean of 10 in a row, weights changed each time) → {limitSustained:N0} tokens/s");
            Console.WriteLine($"  saeguard: {tps:N0} tokens/s = {100 * tps / limit:F0}% of the best-GEMM limit, {100 * tps / limitSustained:F0}% of the sustained one; GEMM share {100 * gemmShare:F0}%, EV over timed steps {ev:F3}");
            double total = phases.Values.Sum();
            Console.WriteLine("  phases: " + string.Join(", ", phases.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {100 * p.Value / total:F1}%")));
            if (peer)
            {
                var p = Peer(d, m, k, batch, steps, warm, threads, peerBlas);
                if (p is double ptps) Console.WriteLine($"  pytorch reference: {ptps:N0} tokens/s → saeguard is {tps / ptps:F2}×");
            }
        }
    }

    static int ArgInt(string[] args, string name, int def)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : def;
    }

    /// <summary>The encoder GEMM's best rate (one ONNX Runtime call or the backend's row pieces) and its sustained rate as training sees it.</summary>
    static (double Best, double Sustained) GemmGflops(int n, int d, int m, int threads)
    {
        using var gemm = new CpuBackend(threads);
        using var single = new OrtGemmProbe(threads);
        var rng = new Random(1);
        var a = Enumerable.Range(0, n * d).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, m * d).Select(_ => (float)rng.NextDouble()).ToArray();
        var bias = new float[m]; var c = new float[(long)n * m];
        double best = double.MaxValue;
        foreach (Action run in new Action[] { () => gemm.Gemm(a, n, d, b, m, true, bias, c), () => single.Run(a, n, d, b, m, bias, c) })
        {
            run();
            for (int r = 0; r < 5; r++)
            {
                var sw = Stopwatch.StartNew();
                run();
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
        }
        var sw10 = Stopwatch.StartNew();
        for (int r = 0; r < 10; r++) { b[r] += 1e-3f; gemm.Gemm(a, n, d, b, m, true, bias, c); }
        double mean = sw10.Elapsed.TotalSeconds / 10;
        return (2.0 * n * d * m / best / 1e9, 2.0 * n * d * m / mean / 1e9);
    }

    static (double Tps, double GemmShare, double Ev, IReadOnlyDictionary<string, double> Phases) Ours(int d, int m, int k, int batch, int steps, int warm, int threads)
    {
        // the peer's data: standard Gaussian rows, batch·8 of them
        var rng = new Random(0);
        var x = new float[batch * 8 * d];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        Common.ProgressBar.Silent = true;
        var o = new SaeTrainOptions
        {
            Arch = SaeArchitectures.TopK.Name, K = k, Latents = m, BatchSize = batch, Tokens = (long)(warm + steps) * batch, Threads = threads,
            DeadAfterTokens = 10L * batch, LogEvery = steps, HeldOutFraction = 0, WarmupSteps = 0, DecayFraction = 0,
        };
        // warm-up steps in a run that stops with a checkpoint; the timed steps resume it (same process, JIT warm)
        var dir = Path.Combine(Path.GetTempPath(), "saeguard-bench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var data = new MemoryTrainData(x, d);
            SaeTrainer.Run(data, o with { StopAfterTokens = (long)warm * batch }, dir);
            var r = SaeTrainer.Run(data, o, dir, resume: true);
            var timed = r.History.Where(h => h.Split == "train" && h.Step > warm).ToList();
            double secs = timed.Sum(h => h.MeasuredTokens / h.TokensPerS);
            double tokens = timed.Sum(h => h.MeasuredTokens);
            return (tokens / secs, r.GemmSeconds / r.PhaseSeconds.Values.Sum(), timed.Average(h => h.ExplainedVariance), r.PhaseSeconds);
        }
        finally { try { Directory.Delete(dir, true); } catch (IOException) { } }
    }

    static double? Peer(int d, int m, int k, int batch, int steps, int warm, int threads, string? blasDir)
    {
        var script = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/bench/torch_topk_reference.py"));
        if (!File.Exists(script)) script = Path.GetFullPath("../shared/bench/torch_topk_reference.py");
        if (!File.Exists(script) || !File.Exists("/usr/bin/python3")) { Console.WriteLine("  pytorch reference: not available (script or /usr/bin/python3 missing)"); return null; }
        // the reference's own instructions: unset the OpenBLAS pins for this command only
        var psi = new ProcessStartInfo("env", $"-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 {script} --d {d} --m {m} --k {k} --batch {batch} --steps {steps} --warmup {warm} --threads {threads}")
        { RedirectStandardOutput = true, RedirectStandardError = true };
        if (blasDir != null) psi.Environment["LD_LIBRARY_PATH"] = Path.GetFullPath(blasDir);
        Console.WriteLine($"  pytorch reference BLAS: {(blasDir != null ? "OpenBLAS from " + blasDir : "the system's libblas.so.3")}");
        using var proc = Process.Start(psi)!;
        var stdout = proc.StandardOutput.ReadToEnd();
        var stderr = proc.StandardError.ReadToEnd();
        proc.WaitForExit();
        var line = stdout.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        if (proc.ExitCode != 0 || line == null) { Console.WriteLine($"  pytorch reference failed: {stderr.Trim()}"); return null; }
        Console.WriteLine($"  pytorch reference: {line.Trim()}");
        return JsonDocument.Parse(line).RootElement.GetProperty("tokens_per_s").GetDouble();
    }
}

/// <summary>One ONNX Runtime Gemm call over the whole batch (no row pieces).</summary>
sealed class OrtGemmProbe(int threads) : IDisposable
{
    readonly OrtGemm _g = new(threads);
    public void Run(float[] a, int n, int d, float[] b, int m, float[] bias, float[] c) => _g.Run(a, n, d, b, m, true, bias, c);
    public void Dispose() => _g.Dispose();
}
