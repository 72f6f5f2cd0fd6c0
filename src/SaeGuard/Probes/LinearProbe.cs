namespace SaeGuard.Probes;

/// <summary>
/// A fitted probe in deployable form: logit(x) = Σⱼ wⱼ (xⱼ − μⱼ) sⱼ + b over a pooled vector x
/// (raw activations or SAE codes), with the standardisation (μ, s) it was trained with. wⱼ = 0
/// for features the probe does not use.
/// </summary>
public sealed class LinearProbe
{
    public Standardizer Standardizer { get; }
    /// <summary>Weights in standardised units, one per input feature.</summary>
    public double[] W { get; }
    public double B { get; }
    /// <summary>Inverse regularisation strength it was fitted with.</summary>
    public double C { get; }

    public LinearProbe(Standardizer standardizer, double[] w, double b, double c)
    {
        if (w.Length != standardizer.Width) throw new ArgumentException($"{w.Length} weights for {standardizer.Width} features.");
        Standardizer = standardizer; W = w; B = b; C = c;
    }

    public int Width => W.Length;
    public int FeaturesUsed => W.Count(v => v != 0);

    public double Logit(ReadOnlySpan<float> x)
    {
        var mu = Standardizer.Mean;
        var s = Standardizer.Scale;
        double z = B;
        for (int j = 0; j < W.Length; j++)
            if (W[j] != 0) z += W[j] * ((double)x[j] - mu[j]) * s[j];
        return z;
    }

    public double Score(ReadOnlySpan<float> x) => LogisticRegression.Sigmoid(Logit(x));

    /// <summary>Per-feature terms of the logit: cⱼ = wⱼ (xⱼ − μⱼ) sⱼ (logit = b + Σ cⱼ).</summary>
    public void Contributions(ReadOnlySpan<float> x, Span<double> c)
    {
        var mu = Standardizer.Mean;
        var s = Standardizer.Scale;
        for (int j = 0; j < W.Length; j++) c[j] = W[j] == 0 ? 0 : W[j] * ((double)x[j] - mu[j]) * s[j];
    }

    /// <summary>The probe as a direction in input space: logit = v·x + offset.</summary>
    public (double[] V, double Offset) RawDirection()
    {
        var v = new double[W.Length];
        double offset = B;
        for (int j = 0; j < W.Length; j++)
        {
            v[j] = W[j] * Standardizer.Scale[j];
            offset -= v[j] * Standardizer.Mean[j];
        }
        return (v, offset);
    }

    /// <summary>Scores of rows of the row-major matrix x [*, Width].</summary>
    public double[] ScoreRows(float[] x, IReadOnlyList<int> rows)
    {
        var outp = new double[rows.Count];
        for (int i = 0; i < rows.Count; i++) outp[i] = Score(x.AsSpan(rows[i] * Width, Width));
        return outp;
    }
}
