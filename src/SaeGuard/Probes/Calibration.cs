namespace SaeGuard.Probes;

/// <summary>
/// Platt scaling: P(harmful) = σ(A·logit + B), fitted by (nearly unpenalised) logistic regression
/// of the labels on out-of-fold logits, so that a calibrated score reads as a probability.
/// </summary>
public sealed record PlattScaling(double A, double B)
{
    public static readonly PlattScaling Identity = new(1, 0);

    public double Apply(double logit) => LogisticRegression.Sigmoid(A * logit + B);

    /// <summary>The logit that maps to probability <paramref name="p"/> (to carry a threshold across).</summary>
    public double LogitFor(double p) => (Math.Log(p / (1 - p)) - B) / A;

    public static PlattScaling Fit(ReadOnlySpan<double> logits, ReadOnlySpan<int> labels)
    {
        if (logits.Length != labels.Length) throw new ArgumentException("logits and labels differ in length.");
        var m = LogisticRegression.Fit(logits.ToArray(), logits.Length, 1, labels, new LogisticOptions { C = 1e6, Tolerance = 1e-9 });
        return new PlattScaling(m.W[0], m.B);
    }
}

/// <summary>
/// Isotonic calibration: the non-decreasing step function of the score that best fits the labels
/// in squared error (pool-adjacent-violators), looked up with ties at block edges going to the
/// upper block, as scikit-learn's IsotonicRegression with out_of_bounds="clip" but without interpolation.
/// </summary>
public sealed class IsotonicCalibration
{
    readonly double[] _lower;
    readonly double[] _value;

    IsotonicCalibration(double[] lower, double[] value) { _lower = lower; _value = value; }

    public IReadOnlyList<double> BlockLowerEdges => _lower;
    public IReadOnlyList<double> BlockValues => _value;

    public static IsotonicCalibration Fit(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels)
    {
        if (scores.Length != labels.Length || scores.Length == 0) throw new ArgumentException("need equal, non-empty scores and labels.");
        var s = scores.ToArray();
        var order = Enumerable.Range(0, s.Length).OrderBy(i => s[i]).ToArray();
        var sum = new List<double>();
        var cnt = new List<double>();
        var low = new List<double>();
        for (int k = 0; k < order.Length;)
        {
            int e = k;
            double ys = 0;
            while (e < order.Length && s[order[e]] == s[order[k]]) ys += labels[order[e++]];
            sum.Add(ys); cnt.Add(e - k); low.Add(s[order[k]]);
            while (sum.Count > 1 && sum[^2] / cnt[^2] >= sum[^1] / cnt[^1])
            {
                sum[^2] += sum[^1]; cnt[^2] += cnt[^1];
                sum.RemoveAt(sum.Count - 1); cnt.RemoveAt(cnt.Count - 1); low.RemoveAt(low.Count - 1);
            }
            k = e;
        }
        return new IsotonicCalibration(low.ToArray(), sum.Zip(cnt, (a, b) => a / b).ToArray());
    }

    public double Apply(double score)
    {
        int i = Array.BinarySearch(_lower, score);
        if (i < 0) i = ~i - 1;
        return _value[Math.Clamp(i, 0, _value.Length - 1)];
    }
}

/// <summary>How well scores read as probabilities.</summary>
public static class CalibrationMetrics
{
    public static double Brier(ReadOnlySpan<double> p, ReadOnlySpan<int> y)
    {
        double s = 0;
        for (int i = 0; i < p.Length; i++) s += (p[i] - y[i]) * (p[i] - y[i]);
        return p.Length == 0 ? double.NaN : s / p.Length;
    }

    /// <summary>Expected calibration error over <paramref name="bins"/> equal-width probability bins.</summary>
    public static double Ece(ReadOnlySpan<double> p, ReadOnlySpan<int> y, int bins = 10)
    {
        var n = new int[bins];
        var ps = new double[bins];
        var ys = new double[bins];
        for (int i = 0; i < p.Length; i++)
        {
            int b = Math.Clamp((int)(p[i] * bins), 0, bins - 1);
            n[b]++; ps[b] += p[i]; ys[b] += y[i];
        }
        double e = 0;
        for (int b = 0; b < bins; b++) if (n[b] > 0) e += Math.Abs(ps[b] - ys[b]) / p.Length;
        return e;
    }
}
