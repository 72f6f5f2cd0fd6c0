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
        Time("gemm", () => be.Gemm(x, n, d, w, m, true, bias, pre));
        Time("memory read of pre", () => { double s = 0; foreach (var v in pre) s += v; if (s == 1234.5) Console.Write(""); });
        Time("topk rows", () => be.TopKRows(pre, n, m, k, codes));
        {
            var idx = new int[k]; var val = new float[k];
            float hint = 0; long cand = 0; int heap = 0;
            var sw = Stopwatch.StartNew();
            for (int t = 0; t < n; t++)
            {
                float h0 = hint;
                SaeGuard.Sae.TopK.SelectTopKPositive(pre.AsSpan(t * m, m), k, idx, val, ref hint);
                int c = SaeGuard.Sae.Backend.Threshold.Count(pre.AsSpan(t * m, m), null, h0);
                cand += c; if (c > 8 * k + 64) heap++;
            }
            Console.WriteLine($"  single-thread topk {sw.Elapsed.TotalMilliseconds:F1} ms (incl. a count pass), mean candidates {cand / (double)n:F1}, heap rows {heap}");
            sw.Restart();
            long tot = 0;
            for (int t = 0; t < n; t++) tot += SaeGuard.Sae.Backend.Threshold.Count(pre.AsSpan(t * m, m), null, 0.5f);
            Console.WriteLine($"  single-thread count pass {sw.Elapsed.TotalMilliseconds:F1} ms ({tot})");
            var ci = new int[m]; var cv = new float[m];
            float thr = val.Min() * 0.9f;
            sw.Restart();
            for (int t = 0; t < n; t++) SaeGuard.Sae.Backend.Threshold.Collect(pre.AsSpan(t * m, m), null, thr, ci, cv);
            Console.WriteLine($"  single-thread collect pass {sw.Elapsed.TotalMilliseconds:F1} ms");
            sw.Restart();
            for (int t = 0; t < n; t++) { int c = SaeGuard.Sae.Backend.Threshold.Count(pre.AsSpan(t * m, m), null, thr); SaeGuard.Sae.Backend.Threshold.Collect(pre.AsSpan(t * m, m), null, thr, ci, cv); }
            Console.WriteLine($"  single-thread count+collect {sw.Elapsed.TotalMilliseconds:F1} ms");
        }
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
        Time("normalize rows", () => be.NormalizeRows(w, m, d));
        var data = new MemoryTrainData(Enumerable.Range(0, n * 8 * d).Select(_ => R()).ToArray(), d);
        var split = RowSplit.Create(data, new SaeTrainOptions { HeldOutFraction = 0 });
        var batcher = new Batcher(data, split, 0, 2);
        Time("batch fill (memory data)", () => batcher.Fill(y, n, 1.5f), 16);
        var src = new float[32768 * d]; var perm = Enumerable.Range(0, 32768).ToArray(); new Random(3).Shuffle(perm);
        var buf = new float[8192 * d];
        Time("alloc 12.6MB (uninit)", () => GC.AllocateUninitializedArray<float>(8192 * d)[5] = 1, 5);
        Time("alloc 12.6MB + touch", () => { var a = GC.AllocateUninitializedArray<float>(8192 * d); for (int i = 0; i < a.Length; i += 1024) a[i] = 1; }, 5);
        Time("gather 8192 rows into reused", () => { for (int i = 0; i < 8192; i++) src.AsSpan(perm[i] * d, d).CopyTo(buf.AsSpan(i * d, d)); }, 5);
        Time("sequential copy 12.6MB", () => src.AsSpan(0, 8192 * d).CopyTo(buf), 5);
        int ep = 0;
        Time("one epoch of memory chunks", () => data.Epoch(0, ep++).ToList(), 3);
        var gcs = GC.CollectionCount(2);
        Time("batch fill again", () => batcher.Fill(y, n, 1.5f), 16);
        Console.WriteLine($"  gen2 GCs during fills: {GC.CollectionCount(2) - gcs}");
    }

    static void Time(string name, Action a, int reps = 5)
    {
        a();
        var best = double.MaxValue;
        double sum = 0;
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            a();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
            sum += sw.Elapsed.TotalMilliseconds;
        }
        Console.WriteLine($"  {name,-28} {best,8:F2} ms best, {sum / reps,8:F2} ms mean");
    }
}
