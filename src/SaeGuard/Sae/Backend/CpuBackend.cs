using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SaeGuard.Sae.Backend;

/// <summary>
/// CPU kernels: the GEMM through ONNX Runtime (MLAS), the sparse gathers/scatters and Adam as
/// vectorised managed loops over fixed work partitions.
/// </summary>
public sealed class CpuBackend : ISaeBackend
{
    const int Chunks = 64;
    readonly OrtGemm _gemm;
    readonly Parallelism _par;

    public string Name => $"cpu (ONNX Runtime GEMM, {_par.Threads} threads)";
    public int Threads => _par.Threads;

    public CpuBackend(int threads = 0)
    {
        _par = new Parallelism(threads);
        _gemm = new OrtGemm(_par.Threads);
    }

    /// <summary>Rows per ONNX Runtime call: MLAS runs 512-row pieces ~35% faster than one 4096-row call (measured, docs/BENCHMARKS.md).</summary>
    public const int GemmRowChunk = 512;

    public void Gemm(ReadOnlySpan<float> a, int n, int k, ReadOnlySpan<float> b, int m, bool bTransposed, ReadOnlySpan<float> bias, Span<float> c)
    {
        for (int r0 = 0; r0 < n; r0 += GemmRowChunk)
        {
            int rows = Math.Min(GemmRowChunk, n - r0);
            _gemm.Run(a.Slice(r0 * k, rows * k), rows, k, b, m, bTransposed, bias, c.Slice(r0 * m, rows * m));
        }
    }

    public void TopKRows(float[] x, int rows, int m, int k, SparseRows output, int[]? columns = null, int nColumns = 0)
    {
        output.Reset(rows);
        output.SetFixedWidth(k);
        var counts = new int[rows];
        var idx = output.Idx; var val = output.Val;
        _par.For(rows, Chunks, (_, s, e) =>
        {
            float[]? gathered = columns != null ? new float[nColumns] : null;
            float hint = 0;
            for (int t = s; t < e; t++)
            {
                var row = x.AsSpan(t * m, m);
                var ri = idx.AsSpan(t * k, k);
                if (gathered == null) { counts[t] = TopK.SelectTopKPositive(row, k, ri, val.AsSpan(t * k, k), ref hint); continue; }
                for (int c = 0; c < nColumns; c++) gathered[c] = row[columns![c]];
                int n = counts[t] = TopK.SelectTopKPositive(gathered, k, ri, val.AsSpan(t * k, k), ref hint);
                for (int q = 0; q < n; q++) ri[q] = columns![ri[q]];
            }
        }, columns != null ? nColumns : m);
        output.Compact(k, counts);
    }

    public void SelectAbove(float[] x, int rows, int m, float[]? thresholds, float threshold, SparseRows output)
    {
        output.Reset(rows);
        var counts = new int[rows];
        _par.For(rows, Chunks, (_, s, e) =>
        {
            for (int t = s; t < e; t++) counts[t] = Threshold.Count(x.AsSpan(t * m, m), thresholds, threshold);
        }, m);
        output.SetCounts(counts);
        var idx = output.Idx; var val = output.Val; var ptr = output.RowPtr;
        _par.For(rows, Chunks, (_, s, e) =>
        {
            for (int t = s; t < e; t++)
                Threshold.Collect(x.AsSpan(t * m, m), thresholds, threshold, idx.AsSpan(ptr[t], counts[t]), val.AsSpan(ptr[t], counts[t]));
        }, m);
    }

    public float KthLargestPositive(float[] x, long n, long kth, float hint)
    {
        if (kth <= 0) throw new ArgumentOutOfRangeException(nameof(kth));
        int len = (int)n;
        float lo = hint > 0 && float.IsFinite(hint) ? hint : 0f;
        var partial = new long[Chunks];
        long count;
        while (true)
        {
            float l = lo;
            _par.For(len, Chunks, (c, s, e) => partial[c] = Threshold.Count(x.AsSpan(s, e - s), null, l), 1);
            count = partial.Sum();
            if (count >= kth || lo == 0) break;
            lo = lo > 1e-30f ? lo * 0.25f : 0f;
        }
        if (count < kth) return 0f;
        var cand = System.Buffers.ArrayPool<float>.Shared.Rent((int)count);
        var offs = new long[Chunks + 1];
        for (int c = 0; c < Chunks; c++) offs[c + 1] = offs[c] + partial[c];
        float lo2 = lo;
        _par.For(len, Chunks, (c, s, e) =>
        {
            int o = (int)offs[c];
            for (int i = s; i < e; i++) if (x[i] > lo2) cand[o++] = x[i];
        }, 1);
        try { return Threshold.Select(cand, (int)count, (int)(count - kth)); }
        finally { System.Buffers.ArrayPool<float>.Shared.Return(cand); }
    }

    public void SparseDecode(SparseRows codes, float[] w, int d, float[] bias, float[] y)
    {
        _par.For(codes.Rows, Chunks, (_, s, e) =>
        {
            for (int t = s; t < e; t++)
            {
                var yt = y.AsSpan(t * d, d);
                bias.AsSpan(0, d).CopyTo(yt);
                Simd.AccumulateRows(codes.RowIdx(t), codes.RowVal(t), w, d, yt, add: true);
            }
        }, 32L * d);
    }

    public void SparseDots(SparseRows codes, float[] g, int gRow0, float[] w, int d, float[] dots)
    {
        _par.For(codes.Rows, Chunks, (_, s, e) =>
        {
            for (int t = s; t < e; t++)
            {
                var gt = g.AsSpan((gRow0 + t) * d, d);
                for (int p = codes.RowPtr[t]; p < codes.RowPtr[t + 1]; p++)
                    dots[p] = Simd.Dot(gt, w.AsSpan(codes.Idx[p] * d, d));
            }
        }, 32L * d);
    }

    public void ColumnGradients(SparseColumns cols, float[] a, float[] b, int d, float[]? bShift, float[] gA, float[] gB, float[] sB)
    {
        _par.For(cols.Cols, Chunks, (_, s, e) =>
        {
            for (int j = s; j < e; j++)
            {
                var gb = gB.AsSpan(j * d, d);
                int p0 = cols.ColPtr[j], n = cols.ColPtr[j + 1] - p0;
                Simd.AccumulateRows(cols.RowA.AsSpan(p0, n), cols.CoefA.AsSpan(p0, n), a, d, gA.AsSpan(j * d, d), add: false);
                Simd.AccumulateRows(cols.RowB.AsSpan(p0, n), cols.CoefB.AsSpan(p0, n), b, d, gb, add: false);
                float sum = 0;
                foreach (var cb in cols.CoefB.AsSpan(p0, n)) sum += cb;
                if (bShift != null && sum != 0) Simd.Axpy(-sum, bShift, gb);
                sB[j] = sum;
            }
        }, 8L * d);
    }

    public void Adam(float[] p, float[] g, float[] m, float[] v, AdamStep hp)
    {
        var c = AdamConstants.From(hp);
        _par.For(p.Length, Chunks, (_, s, e) => AdamRange(p.AsSpan(s, e - s), g.AsSpan(s, e - s), m.AsSpan(s, e - s), v.AsSpan(s, e - s), c), 8);
    }

    public void AdamUnitRows(float[] w, float[] g, float[] m, float[] v, int rows, int d, AdamStep hp)
    {
        var c = AdamConstants.From(hp);
        _par.For(rows, Chunks, (_, s, e) =>
        {
            for (int j = s; j < e; j++)
            {
                var wj = w.AsSpan(j * d, d); var gj = g.AsSpan(j * d, d);
                float nn = Simd.Dot(wj, wj);
                if (nn > 0) Simd.Axpy(-Simd.Dot(gj, wj) / nn, wj, gj);
                AdamRange(wj, gj, m.AsSpan(j * d, d), v.AsSpan(j * d, d), c);
                float nrm = MathF.Sqrt(Simd.Dot(wj, wj));
                if (nrm > 0) System.Numerics.Tensors.TensorPrimitives.Multiply(wj, 1 / nrm, wj);
            }
        }, 12L * d);
    }

    readonly record struct AdamConstants(float B1, float B2, float StepSize, float InvSqrtBc2, float Eps)
    {
        public static AdamConstants From(AdamStep hp) =>
            new(hp.Beta1, hp.Beta2, hp.Lr / (1 - MathF.Pow(hp.Beta1, hp.Step)), 1 / MathF.Sqrt(1 - MathF.Pow(hp.Beta2, hp.Step)), hp.Eps);
    }

    /// <summary>PyTorch's Adam on one range: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr/bc1 · m / (√v/√bc2 + ε).</summary>
    static void AdamRange(Span<float> p, Span<float> g, Span<float> m, Span<float> v, AdamConstants c)
    {
        int i = 0, n = p.Length;
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float mr = ref MemoryMarshal.GetReference(m);
        ref float vr = ref MemoryMarshal.GetReference(v);
        if (Vector512.IsHardwareAccelerated)
        {
            var vb1 = Vector512.Create(c.B1); var vb1c = Vector512.Create(1 - c.B1);
            var vb2 = Vector512.Create(c.B2); var vb2c = Vector512.Create(1 - c.B2);
            var vss = Vector512.Create(c.StepSize); var vbc = Vector512.Create(c.InvSqrtBc2); var veps = Vector512.Create(c.Eps);
            for (; i <= n - 16; i += 16)
            {
                var gi = Vector512.LoadUnsafe(ref gr, (nuint)i);
                var mi = vb1 * Vector512.LoadUnsafe(ref mr, (nuint)i) + vb1c * gi;
                var vi = vb2 * Vector512.LoadUnsafe(ref vr, (nuint)i) + vb2c * gi * gi;
                mi.StoreUnsafe(ref mr, (nuint)i);
                vi.StoreUnsafe(ref vr, (nuint)i);
                var denom = Vector512.Sqrt(vi) * vbc + veps;
                (Vector512.LoadUnsafe(ref pr, (nuint)i) - vss * mi / denom).StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float gi = g[i];
            float mi = m[i] = c.B1 * m[i] + (1 - c.B1) * gi;
            float vi = v[i] = c.B2 * v[i] + (1 - c.B2) * gi * gi;
            p[i] -= c.StepSize * mi / (MathF.Sqrt(vi) * c.InvSqrtBc2 + c.Eps);
        }
    }

    public void NormalizeRows(float[] w, int rows, int d)
    {
        _par.For(rows, Chunks, (_, s, e) =>
        {
            for (int j = s; j < e; j++)
            {
                var wj = w.AsSpan(j * d, d);
                float nrm = MathF.Sqrt(Simd.Dot(wj, wj));
                if (nrm > 0) System.Numerics.Tensors.TensorPrimitives.Multiply(wj, 1 / nrm, wj);
            }
        }, d);
    }

    public void Dispose() => _gemm.Dispose();
}
