using System.Diagnostics;
using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Training;

namespace SaeGuard.Bench;

/// <summary>Milliseconds per call of each SAE training kernel at a training step's size (for tuning).</summary>
public sealed class SaeKernelsBench : IBenchmark
{
    public string Name => "sae-kernels";
    public string Description => "ms per call of the SAE step kernels (batch 4096, d=384, m=6144, k=32)";

    public void Run(string[] args)
    {
        int n = 4096, d = 384, m = 6144, k = 32;
        using var be = new CpuBackend(2);
        var rng = new Random(1);
        float R() => (float)(rng.NextDouble() * 2 - 1);
        var x = Enumerable.Range(0, n * d).Select(_ => R()).ToArray();
        var w = Enumerable.Range(0, m * d).Select(_ => R() * 0.05f).ToArray();
        var bias = new float[m]; var pre = new float[n * m];
        var codes = new SparseRows();
        var y = new float[n * d]; var dots = new float[n * k];
        Time("gemm (512-row pieces)", () => be.Gemm(x, n, d, w, m, true, bias, pre));
        Time("memory read of pre", () => { double s = 0; foreach (var v in pre) s += v; if (s == 1234.5) Console.Write(""); });
        Time("topk rows", () => be.TopKRows(pre, n, m, k, codes));
        // selecting right after each GEMM piece, while it is cache-hot, measured slower than one pass after the whole GEMM
        var piece = new float[512 * m];
        var pieceCodes = new SparseRows();
        Time("gemm + topk per 512-row piece", () =>
        {
            for (int r0 = 0; r0 < n; r0 += 512)
            {
                be.Gemm(x.AsSpan(r0 * d, 512 * d), 512, d, w, m, true, bias, piece);
                be.TopKRows(piece, 512, m, k, pieceCodes);
            }
        });
        Time("sparse decode", () => be.SparseDecode(codes, w, d, new float[d], y));
        Time("sparse dots", () => be.SparseDots(codes, x, 0, w, d, dots));
        var cols = new SparseColumns();
        Time("build columns", () =>
        {
            cols.Begin(m);
            for (int e = 0; e < codes.Nnz; e++) cols.Count(codes.Idx[e]);
            cols.Layout();
            for (int t = 0; t < n; t++) for (int e = codes.RowPtr[t]; e < codes.RowPtr[t + 1]; e++) cols.Add(codes.Idx[e], t, codes.Val[e], t, dots[e]);
        });
        var gA = new float[m * d]; var gB = new float[m * d]; var sB = new float[m];
        Time("column gradients", () => be.ColumnGradients(cols, x, x, d, new float[d], gA, gB, sB));
        var mm = new float[m * d]; var vv = new float[m * d];
        Time("adam (one m×d tensor)", () => be.Adam(w, gA, mm, vv, new AdamStep(1e-4f, 0.9f, 0.999f, 1e-8f, 1)));
        Time("adam unit rows (W_dec)", () => be.AdamUnitRows(w, gA, mm, vv, m, d, new AdamStep(1e-4f, 0.9f, 0.999f, 1e-8f, 1)));
        var data = new MemoryTrainData(Enumerable.Range(0, n * 8 * d).Select(_ => R()).ToArray(), d);
        var batcher = new Batcher(data, RowSplit.Create(data, new SaeTrainOptions { HeldOutFraction = 0 }), 0, 2);
        Time("batch fill (memory data)", () => batcher.Fill(y, n, 1.5f), 16);
        // page faults on fresh large arrays cost more than copying into them here: the trainer reuses buffers
        Time("alloc 6.3MB + first touch", () => { var a = GC.AllocateUninitializedArray<float>(4096 * d); for (int i = 0; i < a.Length; i += 1024) a[i] = 1; });
        Time("copy 6.3MB into a reused buffer", () => x.AsSpan(0, 4096 * d).CopyTo(y.AsSpan(0, 4096 * d)));
    }

    static void Time(string name, Action a, int reps = 5)
    {
        a();
        double best = double.MaxValue, sum = 0;
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            a();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
            sum += sw.Elapsed.TotalMilliseconds;
        }
        Console.WriteLine($"  {name,-34} {best,8:F2} ms best, {sum / reps,8:F2} ms mean");
    }
}
