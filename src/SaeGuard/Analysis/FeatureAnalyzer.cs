using SaeGuard.Activations;
using SaeGuard.Common;

namespace SaeGuard.Analysis;

public sealed record AnalysisOptions
{
    /// <summary>Tokens in the uniform sample (PCA scatter, L0 sample in feature_stats.npz).</summary>
    public int SampleTokens { get; init; } = 20000;
    public int Seed { get; init; }
    /// <summary>Memory for the sampled code rows that feed the PCA.</summary>
    public long PcaMemoryBytes { get; init; } = 256L << 20;
    /// <summary>Exact percentiles with a second pass when the source can be read again cheaply.</summary>
    public bool ExactQuantiles { get; init; } = true;
    /// <summary>Worker threads (0 = all cores).</summary>
    public int Threads { get; init; }
}

/// <summary>
/// Streaming feature statistics over a codes matrix [tokens, width] given as row blocks: one pass
/// computes everything (per-feature firing rate, max, mean, mean when active; per-token L0; the
/// eps table; a uniform token sample); a second, optional pass makes the value percentiles exact.
/// Memory is bounded by the width and the sample, not by the number of tokens. Rows are split
/// across worker threads, each with its own accumulators, merged at the end.
/// </summary>
public sealed class FeatureAnalyzer
{
    static readonly double[] Percents = { 1, 5, 50, 95, 99 };

    public int Width { get; }
    readonly AnalysisOptions _options;
    readonly FeatureAccumulator[] _workers;
    readonly TokenSampler _sampler;
    FeatureAccumulator? _total;
    QuantileRefiner[]? _refiners;
    long[]? _ranks;
    int[]? _targetBuckets;

    public FeatureAnalyzer(int width, AnalysisOptions? options = null)
    {
        if (width <= 0) throw new UserError($"Codes width must be positive, got {width}.");
        Width = width;
        _options = options ?? new AnalysisOptions();
        int threads = _options.Threads > 0 ? _options.Threads : Environment.ProcessorCount;
        _workers = Enumerable.Range(0, Math.Max(1, threads)).Select(_ => new FeatureAccumulator(width)).ToArray();
        _sampler = new TokenSampler(_options.SampleTokens, _options.Seed, _options.PcaMemoryBytes);
    }

    public long Tokens => _total?.Rows ?? _workers.Sum(w => w.Rows);

    /// <summary>Pass 1: adds a block of rows.</summary>
    public void Add(RowBlock block)
    {
        if (_total != null) throw new InvalidOperationException("Pass 1 is finished.");
        if (block.D != Width) throw new UserError($"A block of width {block.D} was given to an analysis of width {Width}.");
        if (block.Rows == 0) return;
        var l0 = new int[block.Rows];
        ForEachWorkerRange(block.Rows, (w, r0, n) => _workers[w].AddRows(block.Data, r0, n, l0.AsSpan(r0, n)));
        _sampler.Offer(block, l0);
    }

    /// <summary>Pass 1 on plain rows [rows, width] (token ids are their positions in the stream).</summary>
    public void Add(float[] rows, int count)
    {
        long first = Tokens;
        var ids = Enumerable.Range(0, count).Select(i => first + i).ToArray();
        Add(new RowBlock { Data = rows, Rows = count, D = Width, RowIds = ids, DocIds = new int[count], Positions = new int[count], TokenIds = new int[count], IsSpecial = new bool[count] });
    }

    void ForEachWorkerRange(int rows, Action<int, int, int> body)
    {
        int workers = Math.Min(_workers.Length, Math.Max(1, rows / 16));
        if (workers == 1) { body(0, 0, rows); return; }
        int per = (rows + workers - 1) / workers;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            int r0 = w * per, n = Math.Min(per, rows - r0);
            if (n > 0) body(w, r0, n);
        });
    }

    FeatureAccumulator Total()
    {
        if (_total != null) return _total;
        for (int i = 1; i < _workers.Length; i++) _workers[0].Merge(_workers[i]);
        _workers[0].Flush();
        return _total = _workers[0];
    }

    long ZeroCount(FeatureAccumulator t) => t.Rows * Width - t.Hist.Sum();

    /// <summary>
    /// Ends pass 1. Returns true when the exact percentiles need a second pass (values that are
    /// not exactly zero sit at the wanted ranks); then feed the same rows to <see cref="AddSecondPass"/>.
    /// </summary>
    public bool EndFirstPass()
    {
        var t = Total();
        long n = t.Rows * Width;
        if (n == 0 || !_options.ExactQuantiles) return false;
        var hist = HistWithZeros(t);
        _ranks = RadixQuantiles.NeededRanks(n, Percents);
        long zeros = ZeroCount(t);
        var buckets = new SortedSet<int>();
        foreach (var r in _ranks)
        {
            var (b, inside) = RadixQuantiles.Locate(hist, r);
            if (b == RadixQuantiles.ZeroBucket && inside < zeros) continue; // exactly zero: no refinement needed
            buckets.Add(b);
        }
        if (buckets.Count == 0) return false;
        _targetBuckets = buckets.ToArray();
        _refiners = _workers.Select(_ => new QuantileRefiner(Width, _targetBuckets)).ToArray();
        return true;
    }

    /// <summary>Pass 2 (only after <see cref="EndFirstPass"/> returned true): the same rows again, in any order.</summary>
    public void AddSecondPass(RowBlock block)
    {
        if (_refiners == null) throw new InvalidOperationException("No second pass was requested.");
        ForEachWorkerRange(block.Rows, (w, r0, n) => _refiners[w].AddRows(block.Data, r0, n));
    }

    long[] HistWithZeros(FeatureAccumulator t)
    {
        var h = (long[])t.Hist.Clone();
        h[RadixQuantiles.ZeroBucket] += ZeroCount(t);
        return h;
    }

    /// <summary>Computes the statistics (call after pass 1, and pass 2 if one was requested).</summary>
    public FeatureStats Finish()
    {
        var t = Total();
        long tokens = t.Rows;
        if (tokens == 0) throw new UserError("There are no tokens to analyse (the input is empty, or holds only special tokens; see --include-special).");
        long n = tokens * Width;
        long zeros = ZeroCount(t);
        var hist = HistWithZeros(t);
        bool exact = _refiners != null;
        Func<long, double> orderStat;
        if (exact)
        {
            for (int i = 1; i < _refiners!.Length; i++) _refiners[0].Merge(_refiners[i]);
            var low = _refiners[0].Low;
            int zeroSlot = Array.IndexOf(_targetBuckets!, RadixQuantiles.ZeroBucket);
            if (zeroSlot >= 0) low[zeroSlot][0] += zeros;
            orderStat = r =>
            {
                var (b, inside) = RadixQuantiles.Locate(hist, r);
                int slot = Array.IndexOf(_targetBuckets!, b);
                if (slot < 0) return 0.0; // rank inside the zeros
                var (l, _) = RadixQuantiles.Locate(low[slot], inside);
                return RadixQuantiles.FromKey(((uint)b << 16) | (uint)l);
            };
        }
        else orderStat = r => RadixQuantiles.ApproxOrderStat(hist, r, zeros);

        long neg = 0, nonFinite = 0;
        for (int b = 0; b < RadixQuantiles.ZeroBucket; b++) neg += hist[b];
        for (int b = 0; b < RadixQuantiles.FirstFiniteBucket; b++) nonFinite += hist[b];
        for (int b = RadixQuantiles.LastFiniteBucket + 1; b < hist.Length; b++) nonFinite += hist[b];

        var fr = new double[Width]; var mean = new double[Width]; var meanActive = new double[Width]; var std = new double[Width];
        double total = 0;
        for (int j = 0; j < Width; j++)
        {
            fr[j] = (double)t.Count[j] / tokens;
            mean[j] = t.Sum[j] / tokens;
            meanActive[j] = t.Count[j] > 0 ? t.SumPos[j] / t.Count[j] : 0;
            std[j] = Math.Sqrt(Math.Max(0, t.SumSq[j] / tokens - mean[j] * mean[j]));
            total += t.Sum[j];
        }
        // an all-zero feature never changed its initial ±inf bounds only if there were no rows
        var values = new ValueStats
        {
            Min = t.Min.Min(), Max = t.Max.Max(), Mean = total / n,
            Median = RadixQuantiles.Percentile(n, 50, orderStat),
            P1 = RadixQuantiles.Percentile(n, 1, orderStat), P5 = RadixQuantiles.Percentile(n, 5, orderStat),
            P50 = RadixQuantiles.Percentile(n, 50, orderStat), P95 = RadixQuantiles.Percentile(n, 95, orderStat),
            P99 = RadixQuantiles.Percentile(n, 99, orderStat),
            NegativeFraction = (double)neg / n, ZeroFraction = (double)zeros / n, NonFinite = nonFinite,
            QuantileMethod = exact || _ranks != null ? RadixQuantiles.ExactMethod : RadixQuantiles.HistogramMethod,
        };
        var eps = FeatureStats.EpsLevels.Select((e, i) => new EpsRow(e, (double)t.EpsCount[i] / n, (double)t.EpsCount[i] / tokens)).ToList();
        return new FeatureStats
        {
            Width = Width, Tokens = tokens, ActiveCount = (long[])t.Count.Clone(), FiringRate = fr, Max = (float[])t.Max.Clone(), Min = (float[])t.Min.Clone(),
            Mean = mean, MeanActive = meanActive, Std = std, Values = values, EpsTable = eps, L0 = L0Summary(t.L0Hist, tokens),
            L0Histogram = (long[])t.L0Hist.Clone(), Sample = _sampler.Finish(), Passes = exact ? 2 : 1,
        };
    }

    static L0Stats L0Summary(long[] hist, long tokens)
    {
        double sum = 0, sq = 0;
        int min = -1, max = 0;
        for (int v = 0; v < hist.Length; v++)
        {
            if (hist[v] == 0) continue;
            if (min < 0) min = v;
            max = v;
            sum += (double)v * hist[v]; sq += (double)v * v * hist[v];
        }
        double mean = sum / tokens;
        return new L0Stats(mean, RadixQuantiles.IntPercentile(hist, tokens, 50), RadixQuantiles.IntPercentile(hist, tokens, 95),
            RadixQuantiles.IntPercentile(hist, tokens, 99), Math.Max(0, min), max, Math.Sqrt(Math.Max(0, sq / tokens - mean * mean)));
    }

    /// <summary>
    /// Runs the analysis over a source: pass 1, then pass 2 for exact percentiles when the source
    /// is <paramref name="replayable"/> (cheap to read again) and one is needed.
    /// </summary>
    public static FeatureStats Run(int width, Func<IEnumerable<RowBlock>> blocks, bool replayable, AnalysisOptions? options = null, long? expectedTokens = null, string label = "analyze")
    {
        var opts = options ?? new AnalysisOptions();
        var a = new FeatureAnalyzer(width, replayable ? opts : opts with { ExactQuantiles = false });
        using (var bar = new ProgressBar(label, expectedTokens ?? 0, "tokens"))
            foreach (var b in blocks()) { a.Add(b); bar.Advance(b.Rows); }
        if (a.EndFirstPass())
        {
            using var bar = new ProgressBar(label + " (exact percentiles, pass 2)", a.Tokens, "tokens");
            foreach (var b in blocks()) { a.AddSecondPass(b); bar.Advance(b.Rows); }
        }
        return a.Finish();
    }
}
