namespace SaeGuard.Analysis;

/// <summary>
/// Exact percentiles of a stream of floats with bounded memory, by two-level radix selection on
/// the order-preserving 32-bit key of each float: pass 1 counts values per top-16-bit bucket
/// (65,536 counters), pass 2 counts, only inside the buckets that hold the wanted order
/// statistics, per low-16-bit value — which identifies each order statistic exactly. Percentiles
/// use numpy's default linear interpolation (index q·(n−1)). Without pass 2 the value is
/// interpolated inside its bucket, a relative error below 2⁻⁷ (documented as "histogram").
/// Zeros are not streamed: their count is added to the bucket of +0.
/// </summary>
public static class RadixQuantiles
{
    public const int Buckets = 1 << 16;
    public const string ExactMethod = "exact (two-pass radix select on float bits, numpy 'linear' interpolation)";
    public const string HistogramMethod = "one-pass histogram over float bits, 65,536 buckets, interpolated (relative error < 2^-7)";

    /// <summary>Order-preserving key: a &lt; b ⇔ Key(a) &lt; Key(b) for non-NaN floats.</summary>
    public static uint Key(float v)
    {
        uint u = BitConverter.SingleToUInt32Bits(v);
        return (u & 0x80000000u) != 0 ? ~u : u | 0x80000000u;
    }

    public static float FromKey(uint k) =>
        BitConverter.UInt32BitsToSingle((k & 0x80000000u) != 0 ? k & 0x7FFFFFFFu : ~k);

    public static readonly uint ZeroKey = Key(0f);
    public static int ZeroBucket => (int)(ZeroKey >> 16);
    // finite floats have keys in [Key(-MaxValue), Key(MaxValue)] = buckets [0x0080, 0xFF7F]
    public const int FirstFiniteBucket = 0x0080, LastFiniteBucket = 0xFF7F;

    /// <summary>0-based order statistics needed for the percentiles q (in %) of n values, numpy 'linear'.</summary>
    public static long[] NeededRanks(long n, IEnumerable<double> percents)
    {
        var set = new SortedSet<long>();
        foreach (var q in percents)
        {
            double pos = q / 100.0 * (n - 1);
            long lo = (long)Math.Floor(pos);
            set.Add(lo);
            if (pos > lo && lo + 1 < n) set.Add(lo + 1);
        }
        return set.ToArray();
    }

    /// <summary>Which top-16 bucket holds rank r, and r's rank inside it.</summary>
    public static (int Bucket, long Inside) Locate(long[] hist, long rank)
    {
        long cum = 0;
        for (int b = 0; b < hist.Length; b++)
        {
            if (rank < cum + hist[b]) return (b, rank - cum);
            cum += hist[b];
        }
        throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} ≥ count {cum}");
    }

    /// <summary>numpy 'linear' percentile from an order-statistic lookup.</summary>
    public static double Percentile(long n, double q, Func<long, double> orderStat)
    {
        double pos = q / 100.0 * (n - 1);
        long lo = (long)Math.Floor(pos);
        double a = orderStat(lo);
        if (pos <= lo || lo + 1 >= n) return a;
        double b = orderStat(lo + 1);
        return a + (pos - lo) * (b - a);
    }

    /// <summary>Value of a rank from the coarse histogram alone (interpolated within its bucket).</summary>
    public static double ApproxOrderStat(long[] hist, long rank, long zeroCount)
    {
        var (b, inside) = Locate(hist, rank);
        if (b == ZeroBucket && inside < zeroCount) return 0.0;
        if (b == ZeroBucket) { inside -= zeroCount; }
        long inBucket = b == ZeroBucket ? hist[b] - zeroCount : hist[b];
        double frac = (inside + 0.5) / Math.Max(1, inBucket);
        uint lo = (uint)b << 16;
        uint key = lo + (uint)Math.Min(0xFFFF, Math.Floor(frac * 65536));
        return FromKey(key);
    }

    /// <summary>Percentiles of n integers given their histogram (value v occurs hist[v] times).</summary>
    public static double IntPercentile(long[] hist, long n, double q) =>
        Percentile(n, q, r => Locate(hist, r).Bucket);
}
