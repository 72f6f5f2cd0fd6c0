using ILGPU;
using ILGPU.Runtime;
using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Device;

namespace SaeGuard.Tests.Sae.Device;

/// <summary>Each device kernel on ILGPU's CPU accelerator against <see cref="CpuBackend"/> (tiny shapes: the accelerator is slow).</summary>
public sealed class DeviceKernelTests : IDisposable
{
    readonly Context _context;
    readonly Accelerator _acc;
    readonly CpuBackend _cpu = new(2);

    public DeviceKernelTests()
    {
        (_context, _acc) = SaeDevice.Resolve(SaeDevice.IlgpuCpuName).Open();
    }

    public void Dispose()
    {
        _cpu.Dispose();
        _acc.Dispose();
        _context.Dispose();
    }

    static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    MemoryBuffer1D<T, Stride1D.Dense> Up<T>(T[] host) where T : unmanaged
    {
        var b = _acc.Allocate1D<T>(Math.Max(1, host.Length));
        if (host.Length > 0) b.CopyFromCPU(host);
        return b;
    }

    static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1e-30, expected.Max(v => Math.Abs((double)v)));
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(expected[i] - (double)actual[i]) / scale;
            if (e > worst) { worst = e; at = i; }
        }
        Assert.True(worst <= relative, $"{what}: max error {worst:E2} of the largest value at {at} (expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)}).");
    }

    [Fact]
    public void Tiled_sgemm_matches_the_cpu_gemm_with_bias_on_ragged_shapes()
    {
        // shapes not multiples of the 64×64×16 tile, so every edge path runs
        int n = 70, k = 37, m = 90;
        var a = Random(n * k, 1); var b = Random(m * k, 2); var bias = Random(m, 3);
        var expected = new float[n * m];
        _cpu.Gemm(a, n, k, b, m, true, bias, expected);
        using var da = Up(a); using var db = Up(b); using var dbias = Up(bias); using var dc = _acc.Allocate1D<float>(n * m);
        var kernel = _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(GemmKernel.Run);
        kernel(GemmKernel.Config(n, m), da.View, db.View, dbias.View, dc.View, n, k, m);
        _acc.Synchronize();
        AssertClose(expected, dc.GetAsArray1D(), 1e-4, "GEMM");
    }

    (int[] Idx, float[] Val, int[] Count) DeviceTopK(float[] pre, int rows, int m, int k, int[]? mask)
    {
        using var dpre = Up(pre); using var dmask = Up(mask ?? new int[1]);
        using var idx = _acc.Allocate1D<int>(rows * k); using var val = _acc.Allocate1D<float>(rows * k); using var count = _acc.Allocate1D<int>(rows);
        var kernel = _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<int>, int, ArrayView<int>, ArrayView<float>, ArrayView<int>>(SelectKernels.TopKRows);
        kernel(rows, dpre.View, m, k, dmask.View, mask == null ? 0 : 1, idx.View, val.View, count.View);
        _acc.Synchronize();
        return (idx.GetAsArray1D(), val.GetAsArray1D(), count.GetAsArray1D());
    }

    static SortedDictionary<int, float> Row(SparseRows r, int t)
    {
        var s = new SortedDictionary<int, float>();
        var idx = r.RowIdx(t); var val = r.RowVal(t);
        for (int e = 0; e < idx.Length; e++) s[idx[e]] = val[e];
        return s;
    }

    [Fact]
    public void Top_k_keeps_the_k_largest_positive_values_ties_going_to_the_lower_index()
    {
        int rows = 3, m = 10, k = 3;
        var pre = new float[]
        {
            1, 5, 5, 5, 5, 0.5f, -2, 0, 3, 0,     // ties at 5: indices 1, 2, 3 win over 4
            -1, -1, 0, 2, -3, 0, 0, 0, 0, 0,      // one positive value only
            2, 2, 2, 2, 2, 2, 2, 2, 2, 9,         // 9 then the two lowest-index 2s
        };
        var (idx, val, count) = DeviceTopK(pre, rows, m, k, null);
        Assert.Equal(new[] { 3, 1, 3 }, count);
        Assert.Equal(new[] { 1, 2, 3 }, idx[..3]);
        Assert.Equal(new[] { 3 }, idx[3..4]);
        Assert.Equal(new[] { 9, 0, 1 }, idx[6..9]);
        Assert.Equal(new[] { 9f, 2f, 2f }, val[6..9]);
        var cpu = new SparseRows();
        _cpu.TopKRows(pre, rows, m, k, cpu);
        for (int t = 0; t < rows; t++)
        {
            var dev = new SortedDictionary<int, float>();
            for (int e = 0; e < count[t]; e++) dev[idx[t * k + e]] = val[t * k + e];
            Assert.Equal(Row(cpu, t), dev);
        }
    }

    [Fact]
    public void Masked_top_k_matches_the_cpu_top_k_over_a_column_list()
    {
        int rows = 9, m = 40, k = 5;
        var pre = Random(rows * m, 4);
        var dead = Enumerable.Range(0, m).Where(j => j % 3 != 1).ToArray();
        var mask = new int[m];
        foreach (var j in dead) mask[j] = 1;
        var (idx, val, count) = DeviceTopK(pre, rows, m, k, mask);
        var cpu = new SparseRows();
        _cpu.TopKRows(pre, rows, m, k, cpu, dead, dead.Length);
        for (int t = 0; t < rows; t++)
        {
            var dev = new SortedDictionary<int, float>();
            for (int e = 0; e < count[t]; e++) dev[idx[t * k + e]] = val[t * k + e];
            Assert.Equal(Row(cpu, t), dev);
        }
    }

    [Fact]
    public void Sparse_decode_dots_and_gradient_scatter_match_the_cpu_backend()
    {
        int rows = 12, m = 30, d = 11, k = 4;
        var pre = Random(rows * m, 5); var w = Random(m * d, 6); var bias = Random(d, 7);
        var g = Random(rows * d, 8); var x = Random(rows * d, 9); var bDec = Random(d, 10);
        var cpu = new SparseRows();
        _cpu.TopKRows(pre, rows, m, k, cpu);
        var (idx, val, count) = DeviceTopK(pre, rows, m, k, null);
        using var dIdx = Up(idx); using var dVal = Up(val); using var dCount = Up(count);
        using var dW = Up(w); using var dBias = Up(bias); using var dG = Up(g); using var dX = Up(x); using var dBDec = Up(bDec);

        // decode
        var expected = new float[rows * d];
        _cpu.SparseDecode(cpu, w, d, bias, expected);
        using var y = _acc.Allocate1D<float>(rows * d);
        _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, ArrayView<float>, int, ArrayView<float>, int, ArrayView<float>>(SparseKernels.Decode)(
            rows * d, dIdx.View, dVal.View, dCount.View, k, dW.View, d, dBias.View, 1, y.View);
        _acc.Synchronize();
        AssertClose(expected, y.GetAsArray1D(), 1e-5, "decode");

        // dots, compared entry by entry through the latent index
        var cpuDots = new float[cpu.Nnz];
        _cpu.SparseDots(cpu, g, 0, w, d, cpuDots);
        using var dots = _acc.Allocate1D<float>(rows * k);
        _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, int, ArrayView<float>, int, ArrayView<float>, int, ArrayView<float>>(SparseKernels.Dots)(
            rows * k, dIdx.View, dCount.View, k, dG.View, 0, dW.View, d, dots.View);
        _acc.Synchronize();
        var devDots = dots.GetAsArray1D();
        var exp = new List<float>(); var got = new List<float>();
        for (int t = 0; t < rows; t++)
            for (int e = cpu.RowPtr[t]; e < cpu.RowPtr[t + 1]; e++)
            {
                int slot = Array.IndexOf(idx, cpu.Idx[e], t * k, count[t]);
                Assert.True(slot >= 0);
                exp.Add(cpuDots[e]); got.Add(devDots[slot]);
            }
        AssertClose(exp.ToArray(), got.ToArray(), 1e-5, "dots");

        // gradient scatter with δ = the dots (as TopK does)
        var cols = new SparseColumns();
        cols.Begin(m);
        for (int e = 0; e < cpu.Nnz; e++) cols.Count(cpu.Idx[e]);
        cols.Layout();
        for (int t = 0; t < rows; t++)
            for (int e = cpu.RowPtr[t]; e < cpu.RowPtr[t + 1]; e++) cols.Add(cpu.Idx[e], t, cpu.Val[e], t, cpuDots[e]);
        float[] gA = new float[m * d], gB = new float[m * d], sB = new float[m];
        _cpu.ColumnGradients(cols, g, x, d, bDec, gA, gB, sB);
        using var gWDec = _acc.Allocate1D<float>(m * d); using var gWEnc = _acc.Allocate1D<float>(m * d); using var gBEnc = _acc.Allocate1D<float>(m);
        gWDec.MemSetToZero(); gWEnc.MemSetToZero(); gBEnc.MemSetToZero();
        _acc.LoadAutoGroupedStreamKernel<Index2D, int, int, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(SparseKernels.Scatter)(
            new Index2D(d, rows * k), 0, k, dIdx.View, dVal.View, dots.View, dCount.View, dG.View, 0, dX.View, dBDec.View, gWDec.View, gWEnc.View, gBEnc.View, d);
        _acc.Synchronize();
        AssertClose(gA, gWDec.GetAsArray1D(), 1e-5, "∂W_dec");
        AssertClose(gB, gWEnc.GetAsArray1D(), 1e-5, "∂W_enc");
        AssertClose(sB, gBEnc.GetAsArray1D(), 1e-5, "∂b_enc");
    }

    [Fact]
    public void Adam_is_the_cpu_adam_to_the_bit_and_the_unit_row_variant_to_rounding()
    {
        int rows = 6, d = 37, n = rows * d;
        var hp = new AdamStep(3e-3f, 0.9f, 0.999f, 1e-8f, 3);
        var p = Random(n, 11); var g = Random(n, 12); var m1 = Random(n, 13, 0.1f); var v = Random(n, 14, 0.1f).Select(Math.Abs).ToArray();
        float b1 = hp.Beta1, b2 = hp.Beta2, stepSize = hp.Lr / (1 - MathF.Pow(hp.Beta1, hp.Step)), inv = 1 / MathF.Sqrt(1 - MathF.Pow(hp.Beta2, hp.Step));

        var (pc, mc, vc) = ((float[])p.Clone(), (float[])m1.Clone(), (float[])v.Clone());
        _cpu.Adam(pc, (float[])g.Clone(), mc, vc, hp);
        using var dp = Up(p); using var dg = Up(g); using var dm = Up(m1); using var dv = Up(v);
        _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, float>(AdamKernels.Adam)(
            n, dp.View, dg.View, dm.View, dv.View, b1, b2, stepSize, inv, hp.Eps);
        _acc.Synchronize();
        Assert.Equal(pc, dp.GetAsArray1D());
        Assert.Equal(mc, dm.GetAsArray1D());
        Assert.Equal(vc, dv.GetAsArray1D());

        var w = Random(n, 15);
        _cpu.NormalizeRows(w, rows, d);
        var (wc, gc, mc2, vc2) = ((float[])w.Clone(), (float[])g.Clone(), (float[])m1.Clone(), (float[])v.Clone());
        _cpu.AdamUnitRows(wc, gc, mc2, vc2, rows, d, hp);
        using var dw = Up(w); using var dg2 = Up(g); using var dm2 = Up(m1); using var dv2 = Up(v);
        _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float, float, float>(AdamKernels.AdamUnitRows)(
            new KernelConfig(new Index1D(rows), new Index1D(AdamKernels.RowThreads)), dw.View, dg2.View, dm2.View, dv2.View, d, b1, b2, stepSize, inv, hp.Eps);
        _acc.Synchronize();
        AssertClose(wc, dw.GetAsArray1D(), 1e-6, "unit-row Adam weights");
        AssertClose(mc2, dm2.GetAsArray1D(), 1e-6, "unit-row Adam first moment");
        var wd = dw.GetAsArray1D();
        for (int j = 0; j < rows; j++)
            Assert.Equal(1.0, Math.Sqrt(wd.AsSpan(j * d, d).ToArray().Sum(q => (double)q * q)), 1e-5);
    }
}
