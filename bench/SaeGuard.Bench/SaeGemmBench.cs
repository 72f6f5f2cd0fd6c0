using System.Diagnostics;
using SaeGuard.Sae.Backend;

namespace SaeGuard.Bench;

/// <summary>GFLOP/s of the encoder GEMM (X·W_encᵀ + b) through ONNX Runtime, B latent-major or not.</summary>
public sealed class SaeGemmBench : IBenchmark
{
    public string Name => "sae-gemm";
    public string Description => "encoder GEMM GFLOP/s (ONNX Runtime Gemm, transB and plain) for SAE shapes";

    public void Run(string[] args)
    {
        int reps = args.Length > 0 ? int.Parse(args[0]) : 5;
        using var gemm = new OrtGemm(0);
        foreach (var (n, d, m) in new[] { (4096, 384, 6144), (4096, 768, 12288), (1024, 384, 6144) })
        {
            var rng = new Random(1);
            var a = new float[n * d]; var b = new float[m * d]; var bias = new float[m]; var c = new float[(long)n * m];
            for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
            for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
            foreach (var tb in new[] { true, false })
            {
                gemm.Run(a, n, d, b, m, tb, bias, c);
                var best = double.MaxValue;
                for (int r = 0; r < reps; r++)
                {
                    var sw = Stopwatch.StartNew();
                    gemm.Run(a, n, d, b, m, tb, bias, c);
                    best = Math.Min(best, sw.Elapsed.TotalSeconds);
                }
                double gf = 2.0 * n * d * m / best / 1e9;
                Console.WriteLine($"n={n} d={d} m={m} transB={tb}: {best * 1e3:F1} ms, {gf:F0} GFLOP/s");
            }
            foreach (var chunk in new[] { 256, 512, 1024, 2048 })
            {
                if (chunk >= n) continue;
                var bestc = double.MaxValue;
                for (int r = 0; r < reps; r++)
                {
                    var sw = Stopwatch.StartNew();
                    for (int r0 = 0; r0 < n; r0 += chunk)
                        gemm.Run(a.AsSpan(r0 * d, chunk * d), chunk, d, b, m, true, bias, c.AsSpan(r0 * m, chunk * m));
                    bestc = Math.Min(bestc, sw.Elapsed.TotalSeconds);
                }
                Console.WriteLine($"  in chunks of {chunk} rows: {bestc * 1e3:F1} ms, {2.0 * n * d * m / bestc / 1e9:F0} GFLOP/s");
                if (chunk == 512)
                {
                    var sw30 = Stopwatch.StartNew();
                    for (int r = 0; r < 30; r++)
                    {
                        b[r] += 1e-3f;   // a changed weight each time, as in training
                        for (int r0 = 0; r0 < n; r0 += chunk)
                            gemm.Run(a.AsSpan(r0 * d, chunk * d), chunk, d, b, m, true, bias, c.AsSpan(r0 * m, chunk * m));
                    }
                    double mean = sw30.Elapsed.TotalSeconds / 30;
                    Console.WriteLine($"  sustained (30 in a row): {mean * 1e3:F1} ms, {2.0 * n * d * m / mean / 1e9:F0} GFLOP/s");
                }
            }
        }
    }
}
