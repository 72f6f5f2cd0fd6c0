using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SaeGuard.Analysis;

/// <summary>
/// One worker's running sums for pass 1 over rows of width W: per feature the count of values
/// &gt; 0, sum, sum of squares, sum of positive values, min and max; per token the count &gt; 0
/// (L0, kept as a histogram); the counts above each eps; and the radix histogram of every
/// non-zero value. Sums are kept in float for at most <see cref="FlushRows"/> rows, then added
/// to float64 totals, so long streams lose no precision. Vectorised with Vector256.
/// </summary>
sealed class FeatureAccumulator
{
    const int FlushRows = 128;
    static readonly float[] EpsAbove0 = FeatureStats.EpsLevels.Skip(1).Select(e => (float)e).ToArray();

    public readonly int W;
    public readonly long[] Count;
    public readonly double[] Sum, SumSq, SumPos;
    public readonly float[] Max, Min;
    public readonly long[] Hist = new long[RadixQuantiles.Buckets];
    public readonly long[] EpsCount = new long[FeatureStats.EpsLevels.Length];
    public readonly long[] L0Hist;
    public long Rows;

    readonly int[] _cnt;
    readonly float[] _sum, _sq, _pos;
    int _pending;

    public FeatureAccumulator(int width)
    {
        W = width;
        Count = new long[W]; Sum = new double[W]; SumSq = new double[W]; SumPos = new double[W];
        Max = new float[W]; Min = new float[W];
        Array.Fill(Max, float.NegativeInfinity); Array.Fill(Min, float.PositiveInfinity);
        L0Hist = new long[W + 1];
        // padded to a whole number of vectors so the hot loop needs no tail for the accumulators
        int padded = (W + 7) & ~7;
        _cnt = new int[padded]; _sum = new float[padded]; _sq = new float[padded]; _pos = new float[padded];
    }

    /// <summary>Adds rows [row0, row0+rows) of a row-major block; writes each row's L0 to <paramref name="l0"/>.</summary>
    public unsafe void AddRows(float[] data, int row0, int rows, Span<int> l0)
    {
        fixed (float* basePtr = data)
        {
            for (int r = 0; r < rows; r++)
            {
                int n = AddRow(basePtr + (long)(row0 + r) * W);
                l0[r] = n;
                L0Hist[n]++;
                Rows++;
                if (++_pending == FlushRows) Flush();
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    unsafe int AddRow(float* x)
    {
        var zero = Vector256<float>.Zero;
        var e1 = Vector256.Create(EpsAbove0[0]); var e2 = Vector256.Create(EpsAbove0[1]);
        var e3 = Vector256.Create(EpsAbove0[2]); var e4 = Vector256.Create(EpsAbove0[3]);
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default;
        int j = 0;
        fixed (int* cnt = _cnt)
        fixed (float* sum = _sum, sq = _sq, pos = _pos, mx = Max, mn = Min)
        fixed (long* hist = Hist)
        {
            for (; j <= W - 8; j += 8)
            {
                var v = Vector256.Load(x + j);
                var gt0 = Vector256.GreaterThan(v, zero);
                Vector256.Store(Vector256.Load(cnt + j) - gt0.AsInt32(), cnt + j);
                Vector256.Store(Vector256.Load(sum + j) + v, sum + j);
                Vector256.Store(Vector256.FusedMultiplyAdd(v, v, Vector256.Load(sq + j)), sq + j);
                Vector256.Store(Vector256.Load(pos + j) + (v & gt0), pos + j);
                Vector256.Store(Vector256.MaxNative(Vector256.Load(mx + j), v), mx + j);
                Vector256.Store(Vector256.MinNative(Vector256.Load(mn + j), v), mn + j);
                c0 -= gt0.AsInt32();
                c1 -= Vector256.GreaterThan(v, e1).AsInt32();
                c2 -= Vector256.GreaterThan(v, e2).AsInt32();
                c3 -= Vector256.GreaterThan(v, e3).AsInt32();
                c4 -= Vector256.GreaterThan(v, e4).AsInt32();
                uint nz = (~Vector256.Equals(v, zero)).ExtractMostSignificantBits();
                while (nz != 0)
                {
                    int b = BitOperations.TrailingZeroCount(nz);
                    nz &= nz - 1;
                    hist[RadixQuantiles.Key(x[j + b]) >> 16]++;
                }
            }
            int l0 = Vector256.Sum(c0);
            EpsCount[1] += Vector256.Sum(c1); EpsCount[2] += Vector256.Sum(c2);
            EpsCount[3] += Vector256.Sum(c3); EpsCount[4] += Vector256.Sum(c4);
            for (; j < W; j++)
            {
                float v = x[j];
                if (v > 0) { cnt[j]++; pos[j] += v; l0++; }
                sum[j] += v; sq[j] += v * v;
                if (v > mx[j]) mx[j] = v;
                if (v < mn[j]) mn[j] = v;
                for (int e = 0; e < EpsAbove0.Length; e++) if (v > EpsAbove0[e]) EpsCount[e + 1]++;
                if (v != 0) hist[RadixQuantiles.Key(v) >> 16]++;
            }
            EpsCount[0] += l0;
            return l0;
        }
    }

    public void Flush()
    {
        for (int j = 0; j < W; j++)
        {
            Count[j] += _cnt[j]; Sum[j] += _sum[j]; SumSq[j] += _sq[j]; SumPos[j] += _pos[j];
        }
        Array.Clear(_cnt); Array.Clear(_sum); Array.Clear(_sq); Array.Clear(_pos);
        _pending = 0;
    }

    /// <summary>Adds another worker's totals into this one (both flushed first).</summary>
    public void Merge(FeatureAccumulator o)
    {
        Flush(); o.Flush();
        for (int j = 0; j < W; j++)
        {
            Count[j] += o.Count[j]; Sum[j] += o.Sum[j]; SumSq[j] += o.SumSq[j]; SumPos[j] += o.SumPos[j];
            Max[j] = Math.Max(Max[j], o.Max[j]); Min[j] = Math.Min(Min[j], o.Min[j]);
        }
        for (int b = 0; b < Hist.Length; b++) Hist[b] += o.Hist[b];
        for (int e = 0; e < EpsCount.Length; e++) EpsCount[e] += o.EpsCount[e];
        for (int n = 0; n < L0Hist.Length; n++) L0Hist[n] += o.L0Hist[n];
        Rows += o.Rows;
    }
}

/// <summary>
/// One worker's pass-2 counts: for values whose top-16-bit bucket is a target, a histogram of the
/// low 16 bits (see <see cref="RadixQuantiles"/>).
/// </summary>
sealed class QuantileRefiner
{
    readonly int W;
    readonly sbyte[] _slotOfBucket;
    public readonly long[][] Low;

    public QuantileRefiner(int width, IReadOnlyList<int> targetBuckets)
    {
        W = width;
        _slotOfBucket = new sbyte[RadixQuantiles.Buckets];
        Array.Fill(_slotOfBucket, (sbyte)-1);
        for (int i = 0; i < targetBuckets.Count; i++) _slotOfBucket[targetBuckets[i]] = (sbyte)i;
        Low = targetBuckets.Select(_ => new long[RadixQuantiles.Buckets]).ToArray();
        _targets = targetBuckets.Select(b => Vector256.Create((uint)b)).ToArray();
    }

    readonly Vector256<uint>[] _targets;

    public unsafe void AddRows(float[] data, int row0, int rows)
    {
        // vectorised filter: the key's top 16 bits compared with each target bucket; zeros are not
        // streamed (their count is added at the end), so +0/−0 are masked out
        var targets = _targets;
        var signBit = Vector256.Create(0x80000000u);
        var zero = Vector256<float>.Zero;
        fixed (float* basePtr = data)
        fixed (sbyte* slotOf = _slotOfBucket)
        {
            float* x = basePtr + (long)row0 * W;
            long n = (long)rows * W, i = 0;
            for (; i <= n - 8; i += 8)
            {
                var v = Vector256.Load(x + i);
                var u = v.AsUInt32();
                var key = u ^ (Vector256.ShiftRightArithmetic(u.AsInt32(), 31).AsUInt32() | signBit);
                var bucket = Vector256.ShiftRightLogical(key, 16);
                var hit = Vector256<uint>.Zero;
                for (int t = 0; t < targets.Length; t++) hit |= Vector256.Equals(bucket, targets[t]);
                hit &= ~Vector256.Equals(v, zero).AsUInt32();
                uint m = hit.ExtractMostSignificantBits();
                while (m != 0)
                {
                    int b = BitOperations.TrailingZeroCount(m);
                    m &= m - 1;
                    Count(x[i + b], slotOf);
                }
            }
            for (; i < n; i++) if (x[i] != 0) Count(x[i], slotOf);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    unsafe void Count(float v, sbyte* slotOf)
    {
        uint k = RadixQuantiles.Key(v);
        int s = slotOf[k >> 16];
        if (s >= 0) Low[s][k & 0xFFFF]++;
    }

    public void Merge(QuantileRefiner o)
    {
        for (int s = 0; s < Low.Length; s++)
            for (int i = 0; i < Low[s].Length; i++) Low[s][i] += o.Low[s][i];
    }
}
