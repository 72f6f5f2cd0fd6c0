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

    public void Gemm(ReadOnlySpan<float> a, int n, int k, ReadOnlySpan<float> b, int m, bool bTransposed, ReadOnlySpan<float> bias, Span<float> c) =>
        _gemm.Run(a, n, k, b, m, bTransposed, bias, c);

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
        var cand = new float[count];
        var offs = new long[Chunks + 1];
        for (int c = 0; c < Chunks; c++) offs[c + 1] = offs[c] + partial[c];
        float lo2 = lo;
        _par.For(len, Chunks, (c, s, e) =>
        {
            int o = (int)offs[c];
            for (int i = s; i < e; i++) if (x[i] > lo2) cand[o++] = x[i];
        }, 1);
        return Threshold.Select(cand, (int)(count - kth));
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
        int n = p.Length;
        float b1 = hp.Beta1, b2 = hp.Beta2;
        float bc1 = 1 - MathF.Pow(b1, hp.Step), bc2 = 1 - MathF.Pow(b2, hp.Step);
        float stepSize = hp.Lr / bc1, invSqrtBc2 = 1 / MathF.Sqrt(bc2), eps = hp.Eps;
        _par.For(n, Chunks, (_, s, e) =>
        {
            int i = s;
            ref float pr = ref MemoryMarshal.GetArrayDataReference(p);
            ref float gr = ref MemoryMarshal.GetArrayDataReference(g);
            ref float mr = ref MemoryMarshal.GetArrayDataReference(m);
            ref float vr = ref MemoryMarshal.GetArrayDataReference(v);
            if (Vector512.IsHardwareAccelerated)
            {
                var vb1 = Vector512.Create(b1); var vb1c = Vector512.Create(1 - b1);
                var vb2 = Vector512.Create(b2); var vb2c = Vector512.Create(1 - b2);
                var vss = Vector512.Create(stepSize); var vbc = Vector512.Create(invSqrtBc2); var veps = Vector512.Create(eps);
                for (; i <= e - 16; i += 16)
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
            for (; i < e; i++)
            {
                float gi = g[i];
                float mi = m[i] = b1 * m[i] + (1 - b1) * gi;
                float vi = v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                p[i] -= stepSize * mi / (MathF.Sqrt(vi) * invSqrtBc2 + eps);
            }
        }, 8);
    }

    public void RemoveParallel(float[] w, float[] g, int rows, int d)
    {
        _par.For(rows, Chunks, (_, s, e) =>
        {
            for (int j = s; j < e; j++)
            {
                var wj = w.AsSpan(j * d, d);
                var gj = g.AsSpan(j * d, d);
                float nn = Simd.Dot(wj, wj);
                if (nn > 0) Simd.Axpy(-Simd.Dot(gj, wj) / nn, wj, gj);
            }
        }, 2L * d);
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
