using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>
/// The guard's logistic head: L2-regularised logistic regression on standardised features
/// (<see cref="Standardizer"/> + <see cref="LogisticRegression"/>), minimising mean log-loss +
/// ½·l2·‖w‖², returned in the raw feature scale: p(y=1|x) = σ(bias + w·x). Features constant
/// on the training rows get weight 0. Deterministic.
/// </summary>
public static class LogisticFit
{
    public static (float[] Weights, double Bias) Fit(IReadOnlyList<float[]> x, IReadOnlyList<bool> y,
        double l2 = 1e-2, int iterations = 400)
    {
        int n = x.Count;
        if (n == 0 || n != y.Count) throw new ArgumentException($"need as many labels as rows (rows {n}, labels {y.Count}).");
        int m = x[0].Length;
        var flat = new float[n * m];
        for (int i = 0; i < n; i++) x[i].CopyTo(flat, i * m);
        var rows = Enumerable.Range(0, n).ToArray();
        var std = Standardizer.Fit(flat, m, rows);
        var used = std.Varying();
        // scikit-learn's C for the same objective: mean loss + R(w)/(n·C) with R = ½‖w‖².
        double c = l2 > 0 ? 1 / (n * l2) : double.PositiveInfinity;
        var fit = LogisticRegression.Fit(std.Design(flat, rows, used), y.Select(v => v ? 1 : 0).ToArray(),
            new LogisticOptions { Penalty = Penalty.L2, C = c, MaxIterations = iterations });
        var w = new double[m];
        for (int k = 0; k < used.Length; k++) w[used[k]] = fit.W[k];
        var (raw, bias) = new LinearProbe(std, w, fit.B, c).RawDirection();
        return (raw.Select(v => (float)v).ToArray(), bias);
    }
}
