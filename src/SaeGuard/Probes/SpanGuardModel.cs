using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>One feature's share of a span-guard logit, with the token of this prompt it fired on most.</summary>
public sealed record SpanFeatureContribution(int Id, double Contribution, string Label, string Token, int TokenIndex, double Activation);

/// <summary>A window's decision: the best span, its logit, and where it lies among the window's non-special tokens.</summary>
public sealed record SpanDecision(double Logit, int SpanStart, int SpanLength);

/// <summary>
/// The exact split of a span-guard logit over SAE features:
/// logit = <see cref="Offset"/> + Σⱼ contributionⱼ + <see cref="Residual"/>, where feature j contributes
/// z̄ⱼ(span)·(v_span·dⱼ) + z̄ⱼ(window)·(v_window·dⱼ) and the residual is what the SAE does not reconstruct.
/// Features that pushed the score up are <see cref="Positive"/> (largest first); those that pushed it
/// down are <see cref="Negative"/> (most negative first).
/// </summary>
public sealed record SpanExplanation(double Logit, double Offset, double Residual,
    IReadOnlyList<SpanFeatureContribution> All, IReadOnlyList<SpanFeatureContribution> Positive, IReadOnlyList<SpanFeatureContribution> Negative);

/// <summary>
/// A guard that reads a text in short spans. A model window's non-special tokens are cut into spans of
/// <see cref="SpanLength"/> tokens (stride half a span; one span when the window is shorter); each span's
/// logit is v_span·mean(span) + b_span + v_window·mean(window) + b_window, and the window scores its
/// best span. Long texts are split into model windows (<see cref="TokenWindows"/>) and score their best
/// window. A request hidden after a long jailbreak preamble is a few spans among many, which mean
/// pooling over the whole prompt dilutes; the window term lets the context shift the decision.
/// Both directions are in raw activation space, so the hybrid SAE split of each is exact.
/// With <see cref="TokenWeights"/> (one weight in (0, 1] per vocabulary id, low for words typical of
/// jailbreak templates rather than of requests) the means are weighted means; the weights are
/// normalised, so the weighted mean codes still decode to the weighted mean and the split stays exact.
/// </summary>
public sealed class SpanGuardModel
{
    public int D { get; }
    public int SpanLength { get; }
    public double[] SpanV { get; }
    public double SpanOffset { get; }
    public double[] WindowV { get; }
    public double WindowOffset { get; }
    public SaeModel Sae { get; }
    public IReadOnlyList<string> Labels { get; }
    /// <summary>Per vocabulary id, the token's weight in span and window means; null = plain means.</summary>
    public double[]? TokenWeights { get; }
    readonly double[] _pSpan, _pWindow;
    readonly double _offsetTotal;

    public SpanGuardModel(int spanLength, double[] spanV, double spanOffset, double[] windowV, double windowOffset, SaeModel sae, IReadOnlyList<string> labels,
        double[]? tokenWeights = null)
    {
        if (tokenWeights != null && tokenWeights.Any(w => !(w > 0) || double.IsInfinity(w)))
            throw new ArgumentException("token weights must be positive and finite.");
        TokenWeights = tokenWeights;
        if (spanV.Length != sae.DIn || windowV.Length != sae.DIn) throw new ArgumentException($"probe width {spanV.Length}/{windowV.Length} ≠ SAE d_in {sae.DIn}.");
        if (labels.Count != sae.DSae) throw new ArgumentException($"{labels.Count} labels for {sae.DSae} SAE features.");
        D = sae.DIn; SpanLength = spanLength; SpanV = spanV; SpanOffset = spanOffset; WindowV = windowV; WindowOffset = windowOffset; Sae = sae; Labels = labels;
        _pSpan = Project(spanV);
        _pWindow = Project(windowV);
        _offsetTotal = spanOffset + windowOffset;
        for (int i = 0; i < D; i++) _offsetTotal += (spanV[i] + windowV[i]) * sae.BDec[i];
    }

    double[] Project(double[] v)
    {
        var p = new double[Sae.DSae];
        for (int j = 0; j < p.Length; j++)
        {
            var d = Sae.WDec.AsSpan(j * D, D);
            double s = 0;
            for (int i = 0; i < D; i++) s += v[i] * d[i];
            p[j] = s;
        }
        return p;
    }

    /// <summary>Span starts for a window of <paramref name="n"/> non-special tokens.</summary>
    public IReadOnlyList<int> SpanStarts(int n) => SpanStartsFor(n, SpanLength);

    /// <summary>Span starts for <paramref name="n"/> tokens and spans of <paramref name="spanLength"/>: every half span, the last one ending at n.</summary>
    public static IReadOnlyList<int> SpanStartsFor(int n, int spanLength)
    {
        if (n <= spanLength) return new[] { 0 };
        var starts = new List<int>();
        for (int s = 0; s + spanLength < n; s += Math.Max(1, spanLength / 2)) starts.Add(s);
        if (starts[^1] != n - spanLength) starts.Add(n - spanLength);
        return starts;
    }

    /// <summary>The tokens' weights in the means (all 1 without <see cref="TokenWeights"/>).</summary>
    public double[] WeightsOf(IReadOnlyList<int>? ids, int n)
    {
        var w = new double[n];
        for (int t = 0; t < n; t++)
            w[t] = TokenWeights == null ? 1 : ids == null || t >= ids.Count ? throw new ArgumentException("this guard weights tokens: give the token ids.")
                : ids[t] >= 0 && ids[t] < TokenWeights.Length ? TokenWeights[ids[t]] : 1;
        return w;
    }

    /// <summary>The best span of a window given its non-special tokens' activations [n, D] (and their ids, needed with token weights).</summary>
    public SpanDecision Decide(ReadOnlySpan<float> acts, int n, IReadOnlyList<int>? ids = null)
    {
        if (n == 0) return new SpanDecision(SpanOffset + WindowOffset, 0, 0);
        var wt = WeightsOf(ids, n);
        double win = WindowOffset + Dot(WindowV, Mean(acts, wt, 0, n));
        SpanDecision? best = null;
        foreach (var s in SpanStarts(n))
        {
            int len = Math.Min(SpanLength, n);
            double z = win + SpanOffset + Dot(SpanV, Mean(acts, wt, s, len));
            if (best == null || z > best.Logit) best = new SpanDecision(z, s, len);
        }
        return best!;
    }

    /// <summary>The SAE split of a window's decision (tokens: the window's non-special token texts).</summary>
    public SpanExplanation Explain(ReadOnlySpan<float> acts, int n, SpanDecision decision, IReadOnlyList<string> tokens, int top = 5, IReadOnlyList<int>? ids = null)
    {
        int m = Sae.DSae;
        var codes = Sae.Encode(acts[..(n * D)], n);
        var wt = WeightsOf(ids, n);
        double sumWin = wt.Sum(), sumSpan = 0;
        for (int t = decision.SpanStart; t < decision.SpanStart + decision.SpanLength; t++) sumSpan += wt[t];
        var zSpan = new double[m];
        var zWin = new double[m];
        for (int t = 0; t < n; t++)
            for (int j = 0; j < m; j++)
            {
                float v = codes[t * m + j];
                if (v == 0) continue;
                zWin[j] += wt[t] * v / sumWin;
                if (t >= decision.SpanStart && t < decision.SpanStart + decision.SpanLength) zSpan[j] += wt[t] * v / sumSpan;
            }
        var xs = Mean(acts, wt, decision.SpanStart, decision.SpanLength);
        var xw = Mean(acts, wt, 0, n);
        double residual = Dot(SpanV, Minus(xs, Reconstruct(zSpan))) + Dot(WindowV, Minus(xw, Reconstruct(zWin)));
        var all = new List<SpanFeatureContribution>();
        for (int j = 0; j < m; j++)
        {
            double c = zSpan[j] * _pSpan[j] + zWin[j] * _pWindow[j];
            if (c == 0) continue;
            int at = ArgMax(codes, m, j, decision.SpanStart, decision.SpanLength);
            if (codes[at * m + j] == 0) at = ArgMax(codes, m, j, 0, n);
            all.Add(new SpanFeatureContribution(j, c, Labels[j], at < tokens.Count ? tokens[at] : "", at, codes[at * m + j]));
        }
        var pos = all.Where(f => f.Contribution > 0).OrderByDescending(f => f.Contribution).ThenBy(f => f.Id).Take(top).ToList();
        var neg = all.Where(f => f.Contribution < 0).OrderBy(f => f.Contribution).ThenBy(f => f.Id).Take(top).ToList();
        return new SpanExplanation(decision.Logit, _offsetTotal, residual, all, pos, neg);
    }

    static int ArgMax(float[] codes, int m, int j, int start, int len)
    {
        int best = start;
        for (int t = start; t < start + len; t++) if (codes[t * m + j] > codes[best * m + j]) best = t;
        return best;
    }

    /// <summary>The <paramref name="wt"/>-weighted mean of rows start..start+len of acts.</summary>
    double[] Mean(ReadOnlySpan<float> acts, double[] wt, int start, int len)
    {
        var mu = new double[D];
        double sw = 0;
        for (int t = start; t < start + len; t++)
        {
            var row = acts.Slice(t * D, D);
            sw += wt[t];
            for (int i = 0; i < D; i++) mu[i] += wt[t] * row[i];
        }
        for (int i = 0; i < D; i++) mu[i] /= sw > 0 ? sw : 1;
        return mu;
    }

    /// <summary>Σⱼ zⱼ dⱼ (without the decoder bias, which sits in the offset).</summary>
    double[] Reconstruct(double[] z)
    {
        var x = new double[D];
        for (int j = 0; j < z.Length; j++)
        {
            if (z[j] == 0) continue;
            var d = Sae.WDec.AsSpan(j * D, D);
            for (int i = 0; i < D; i++) x[i] += z[j] * d[i];
        }
        for (int i = 0; i < D; i++) x[i] += Sae.BDec[i];
        return x;
    }

    static double[] Minus(double[] a, double[] b) => a.Select((v, i) => v - b[i]).ToArray();

    static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
