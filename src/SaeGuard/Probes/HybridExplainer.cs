using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>
/// Explains the dense probe on SAE features. The dense probe is a direction v in activation space
/// (logit = v·x + offset). With x ≈ x̂ = b_dec + Σⱼ zⱼ dⱼ (dⱼ = SAE decoder row j) the logit splits
/// exactly into offset + v·b_dec + Σⱼ zⱼ (v·dⱼ) + v·(x − x̂): feature j contributes zⱼ (v·dⱼ), and
/// v·(x − x̂) is the part the SAE does not explain. For mean (and last) pooling, the pooled codes
/// decode to the pooled reconstruction, so the split holds for pooled vectors too; for max
/// pooling it is an approximation, with everything left over in the residual.
/// </summary>
public sealed class HybridExplainer
{
    readonly double[] _v;
    readonly double _offset;
    readonly double _vBDec;
    /// <summary>v·dⱼ for every SAE feature.</summary>
    public double[] Projection { get; }

    public HybridExplainer(LinearProbe dense, SaeModel sae)
    {
        if (dense.Width != sae.DIn) throw new ArgumentException($"Dense probe has {dense.Width} inputs, SAE d_in = {sae.DIn}.");
        (_v, _offset) = dense.RawDirection();
        int d = sae.DIn;
        Projection = new double[sae.DSae];
        for (int j = 0; j < sae.DSae; j++)
        {
            var row = sae.WDec.AsSpan(j * d, d);
            double s = 0;
            for (int i = 0; i < d; i++) s += _v[i] * row[i];
            Projection[j] = s;
        }
        for (int i = 0; i < d; i++) _vBDec += _v[i] * sae.BDec[i];
    }

    /// <summary>cⱼ = zⱼ (v·dⱼ) for the pooled codes z.</summary>
    public void Contributions(ReadOnlySpan<float> codes, Span<double> c)
    {
        for (int j = 0; j < codes.Length; j++) c[j] = codes[j] == 0 ? 0 : codes[j] * Projection[j];
    }

    /// <summary>The logit part no feature accounts for: v·x + offset − (offset + v·b_dec + Σ cⱼ).</summary>
    public double Residual(ReadOnlySpan<float> x, ReadOnlySpan<float> codes)
    {
        double vx = 0;
        for (int i = 0; i < x.Length; i++) vx += _v[i] * x[i];
        double sum = 0;
        for (int j = 0; j < codes.Length; j++) if (codes[j] != 0) sum += codes[j] * Projection[j];
        return vx - _vBDec - sum;
    }

    /// <summary>The constant part of the split: offset + v·b_dec.</summary>
    public double Baseline => _offset + _vBDec;

    /// <summary>
    /// Over the given prompts, the mean share of |attribution| carried by the top <paramref name="top"/>
    /// features, and the mean share left in the SAE residual: Σ over |cⱼ| and |residual|.
    /// </summary>
    public (double TopShare, double ResidualShare) Faithfulness(PromptFeatures f, IReadOnlyList<int> prompts, int top = 5)
    {
        var c = new double[f.M];
        double topShare = 0, resShare = 0;
        foreach (var p in prompts)
        {
            Contributions(f.CodeRow(p), c);
            double res = Math.Abs(Residual(f.DenseRow(p), f.CodeRow(p)));
            var abs = c.Select(Math.Abs).Where(v => v > 0).OrderDescending().ToArray();
            double total = abs.Sum() + res;
            if (total == 0) continue;
            topShare += abs.Take(top).Sum() / total;
            resShare += res / total;
        }
        return (topShare / prompts.Count, resShare / prompts.Count);
    }
}
