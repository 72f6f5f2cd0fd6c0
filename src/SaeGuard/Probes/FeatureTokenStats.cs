namespace SaeGuard.Probes;

/// <summary>A token where a feature fired: which prompt, which of its non-special tokens (0-based), which token id, how strongly.</summary>
public readonly record struct TokenHit(float Value, int Prompt, int Position, int TokenId);

/// <summary>
/// Per SAE feature, over the tokens it has seen: how often it fires (value &gt; 0) and its
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

    public FeatureTokenStats(int features, int topN = 8)
    {
        Features = features; TopN = topN;
        _fires = new long[features];
        _top = new TokenHit[features * topN];
        _topCount = new int[features];
        _topMin = new float[features];
    }

    public void Add(ReadOnlySpan<float> codes, int prompt, int position, int tokenId)
    {
        Tokens++;
        for (int j = 0; j < codes.Length; j++)
        {
            float v = codes[j];
            if (v <= 0) continue;
            _fires[j]++;
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

    /// <summary>The feature's strongest tokens, strongest first.</summary>
    public TokenHit[] Top(int feature) =>
        _top.AsSpan(feature * TopN, _topCount[feature]).ToArray().OrderByDescending(h => h.Value).ThenBy(h => h.Prompt).ToArray();
}
