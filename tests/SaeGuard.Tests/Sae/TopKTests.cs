using SaeGuard.Sae;
using SaeGuard.Sae.Backend;

namespace SaeGuard.Tests.Sae;

public class TopKTests
{
    /// <summary>Reference: positive values sorted by value (desc), ties by index (asc), first k.</summary>
    static (int Idx, float Val)[] Naive(float[] row, int k) =>
        row.Select((v, i) => (i, v)).Where(e => e.v > 0).OrderByDescending(e => e.v).ThenBy(e => e.i).Take(k).ToArray();

    static float[] Row(Random rng, int m, bool ties)
    {
        var r = new float[m];
        for (int i = 0; i < m; i++) r[i] = ties ? rng.Next(-3, 6) * 0.5f : (float)(rng.NextDouble() * 4 - 2);
        return r;
    }

    [Theory]
    [InlineData(37, 5, false)]
    [InlineData(3072, 32, false)]
    [InlineData(1000, 64, true)]
    [InlineData(50, 49, true)]
    [InlineData(16, 3, false)]
    public void Returns_exactly_k_nonnegative_values_matching_a_naive_sort(int m, int k, bool ties)
    {
        var rng = new Random(m * 31 + k);
        for (int trial = 0; trial < 40; trial++)
        {
            var row = Row(rng, m, ties);
            var want = Naive(row, k);
            var idx = new int[k]; var val = new float[k];
            int n = TopK.SelectTopKPositive(row, k, idx, val);
            Assert.Equal(want.Length, n);
            Assert.Equal(want.Select(e => e.Idx).Order(), idx.Take(n).Order());
            for (int i = 0; i < n; i++) Assert.Equal(row[idx[i]], val[i]);

            var kept = (float[])row.Clone();
            TopK.KeepTopKPositive(kept, k);
            Assert.Equal(want.Length, kept.Count(v => v != 0));
            Assert.All(kept, v => Assert.True(v >= 0));
            foreach (var (i, v) in want) Assert.Equal(v, kept[i]);
        }
    }

    [Fact]
    public void Exactly_k_per_row_when_every_row_has_enough_positives()
    {
        var rng = new Random(5);
        int m = 512, k = 32, rows = 200;
        var x = new float[rows * m];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble() + 0.01f;
        using var be = new CpuBackend(2);
        var codes = new SparseRows();
        be.TopKRows(x, rows, m, k, codes);
        for (int t = 0; t < rows; t++)
        {
            Assert.Equal(k, codes.RowIdx(t).Length);
            var want = Naive(x.AsSpan(t * m, m).ToArray(), k).Select(e => e.Idx).Order();
            Assert.Equal(want, codes.RowIdx(t).ToArray().Order());
        }
    }

    [Fact]
    public void Backend_topk_over_a_column_subset_matches_a_naive_sort()
    {
        var rng = new Random(9);
        int m = 300, k = 7, rows = 64;
        var x = new float[rows * m];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1.2);
        var cols = Enumerable.Range(0, m).Where(j => j % 3 != 1).ToArray();
        using var be = new CpuBackend(2);
        var codes = new SparseRows();
        be.TopKRows(x, rows, m, k, codes, cols, cols.Length);
        for (int t = 0; t < rows; t++)
        {
            var want = cols.Where(j => x[t * m + j] > 0).OrderByDescending(j => x[t * m + j]).ThenBy(j => j).Take(k).Order();
            Assert.Equal(want, codes.RowIdx(t).ToArray().Order());
            foreach (var (j, v) in codes.RowIdx(t).ToArray().Zip(codes.RowVal(t).ToArray())) Assert.Equal(x[t * m + j], v);
        }
    }

    [Fact]
    public void Kth_largest_and_threshold_selection_match_sorting()
    {
        var rng = new Random(11);
        var x = new float[40_000];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        using var be = new CpuBackend(2);
        var sorted = x.Where(v => v > 0).OrderDescending().ToArray();
        foreach (var kth in new long[] { 1, 100, 5000, sorted.Length })
            foreach (var hint in new[] { 0f, 0.9f, 0.999f })
                Assert.Equal(sorted[kth - 1], be.KthLargestPositive((float[])x.Clone(), x.Length, kth, hint));
        Assert.Equal(0f, be.KthLargestPositive(x, x.Length, sorted.Length + 1, 0));

        var thr = Enumerable.Range(0, 400).Select(j => (float)(j % 5) * 0.2f).ToArray();
        var rows = new SparseRows();
        be.SelectAbove(x, 100, 400, thr, 0, rows);
        for (int t = 0; t < 100; t++)
            Assert.Equal(Enumerable.Range(0, 400).Where(j => x[t * 400 + j] > thr[j]), rows.RowIdx(t).ToArray());
    }
}
