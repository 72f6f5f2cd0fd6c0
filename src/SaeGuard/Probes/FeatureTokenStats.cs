namespace SaeGuard.Probes;

/// <summary>A token where a feature fired: which prompt, which of its non-special tokens (0-based), which token id, how strongly.</summary>
public readonly record struct TokenHit(float Value, int Prompt, int Position, int TokenId);

/// <summary>
/// Per SAE feature, over the tokens it has seen: how often it fires (value &gt; 0), the sum and
/// maximum of its non-zero values, a histogram of them in powers of two, and its
/// <see cref="TopN"/> strongest tokens.
/// </summary>
public sealed class FeatureTokenStats
{
    public int Features { get; }
    public int TopN { get; }
    public long Tokens { get; private set; }
    readonly long[] _fires;
    readonly TokenHit[] _top;
    readonly int[] _topCount;
    readonly float[] _topMin;
    readonly double[] _sum;
    readonly float[] _max;
    readonly long[] _hist;

    /// <summary>Histogram bin b holds values in [2^(b+MinExponent), 2^(b+1+MinExponent)); the end bins also take what lies beyond.</summary>
    public const int MinExponent = -16, HistogramBins = 32;

    public FeatureTokenStats(int features, int topN = 8)
    {
        Features = features; TopN = topN;
        _fires = new long[features];
        _top = new TokenHit[features * topN];
        _topCount = new int[features];
        _topMin = new float[features];
        _sum = new double[features];
        _max = new float[features];
        _hist = new long[features * HistogramBins];
    }

    public void Add(ReadOnlySpan<float> codes, int prompt, int position, int tokenId)
    {
        Tokens++;
        for (int j = 0; j < codes.Length; j++)
        {
            float v = codes[j];
            if (v <= 0) continue;
            _fires[j]++;
            _sum[j] += v;
            if (v > _max[j]) _max[j] = v;
            _hist[j * HistogramBins + Math.Clamp(Math.ILogB(v) - MinExponent, 0, HistogramBins - 1)]++;
            int n = _topCount[j];
            if (n == TopN && v <= _topMin[j]) continue;
            var slots = _top.AsSpan(j * TopN, TopN);
            if (n < TopN) { slots[n] = new TokenHit(v, prompt, position, tokenId); _topCount[j] = ++n; }
            else
            {
                int argmin = 0;
                for (int t = 1; t < n; t++) if (slots[t].Value < slots[argmin].Value) argmin = t;
                slots[argmin] = new TokenHit(v, prompt, position, tokenId);
            }
            if (n == TopN)
            {
                float mn = float.MaxValue;
                for (int t = 0; t < n; t++) mn = Math.Min(mn, slots[t].Value);
                _topMin[j] = mn;
            }
        }
    }

    public double FiringRate(int feature) => Tokens == 0 ? 0 : (double)_fires[feature] / Tokens;

    public long Fires(int feature) => _fires[feature];
    public double MeanWhenActive(int feature) => _fires[feature] == 0 ? 0 : _sum[feature] / _fires[feature];
    public float MaxActivation(int feature) => _max[feature];

    /// <summary>
    /// The non-zero values in power-of-two bins, trimmed to the bins in use: Counts[i] in
    /// [Edges[i], Edges[i+1]); the first edge is 0 and the last the maximum when an end bin took overflow.
    /// </summary>
    public (double[] Edges, long[] Counts) Histogram(int feature)
    {
        var h = _hist.AsSpan(feature * HistogramBins, HistogramBins);
        int lo = 0, hi = HistogramBins - 1;
        while (lo <= hi && h[lo] == 0) lo++;
        while (hi >= lo && h[hi] == 0) hi--;
        if (lo > hi) return (Array.Empty<double>(), Array.Empty<long>());
        var edges = new double[hi - lo + 2];
        for (int b = lo; b <= hi + 1; b++) edges[b - lo] = Math.ScaleB(1.0, b + MinExponent);
        if (lo == 0) edges[0] = 0;
        if (hi == HistogramBins - 1) edges[^1] = Math.Max(edges[^1], _max[feature]);
        return (edges, h[lo..(hi + 1)].ToArray());
    }

    /// <summary>The feature's strongest tokens, strongest first.</summary>
    public TokenHit[] Top(int feature) =>
        _top.AsSpan(feature * TopN, _topCount[feature]).ToArray().OrderByDescending(h => h.Value).ThenBy(h => h.Prompt).ToArray();
}
