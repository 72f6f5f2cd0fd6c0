using System.Numerics.Tensors;

namespace SaeGuard.Probes;

public enum Penalty { L2, L1 }

/// <summary>
/// Regularisation as scikit-learn writes it: minimise C Σᵢ logloss(yᵢ, w·xᵢ + b) + R(w) with
/// R = ½‖w‖² (L2) or ‖w‖₁ (L1); the intercept b is not penalised.
/// </summary>
public sealed record LogisticOptions
{
    public Penalty Penalty { get; init; } = Penalty.L2;
    public double C { get; init; } = 1.0;
    /// <summary>Largest |gradient| of the mean-loss objective at which the solver stops.</summary>
    public double Tolerance { get; init; } = 1e-7;
    public int MaxIterations { get; init; } = 2000;
}

/// <summary>A fitted logistic model: P(harmful | x) = σ(w·x + b).</summary>
public sealed record LogisticModel(double[] W, double B, int Iterations, bool Converged)
{
    public int NonZero => W.Count(v => v != 0);
    public double Logit(ReadOnlySpan<double> x) => TensorPrimitives.Dot(W.AsSpan(), x) + B;
}

/// <summary>Binary logistic regression in float64, solved by <see cref="OwlQn"/>.</summary>
public static class LogisticRegression
{
    /// <param name="x">Row-major [n, f] features.</param>
    /// <param name="n">Rows.</param>
    /// <param name="f">Features per row.</param>
    /// <param name="y">Labels 0/1, length n.</param>
    /// <param name="options">Penalty, strength and solver limits (defaults when null).</param>
    /// <param name="warmStart">Starting point (e.g. the previous solution on a regularisation path).</param>
    public static LogisticModel Fit(double[] x, int n, int f, ReadOnlySpan<int> y, LogisticOptions? options = null, LogisticModel? warmStart = null) =>
        Fit(new DenseDesign(x, n, f), y, options, warmStart);

    public static LogisticModel Fit(DesignMatrix x, ReadOnlySpan<int> y, LogisticOptions? options = null, LogisticModel? warmStart = null)
    {
        var o = options ?? new LogisticOptions();
        int n = x.Rows, f = x.Cols;
        if (y.Length != n) throw new ArgumentException($"y has {y.Length} labels, expected {n}.");
        if (n == 0) throw new ArgumentException("No training rows.");
        // Divide the objective by n·C so that its scale does not depend on n: mean loss + R(w)/(nC).
        double reg = 1.0 / (n * o.C);
        var yd = new double[n];
        for (int i = 0; i < n; i++) yd[i] = y[i];
        var theta = new double[f + 1];
        if (warmStart != null) { Array.Copy(warmStart.W, theta, f); theta[f] = warmStart.B; }
        else theta[f] = InterceptOnly(yd);
        var z = new double[n];
        var r = new double[n];
        double Objective(double[] t, double[] grad)
        {
            var w = t.AsSpan(0, f);
            x.Multiply(w, t[f], z);
            double loss = 0;
            for (int i = 0; i < n; i++)
            {
                double zi = z[i];
                // log(1 + e^{−m}) with m = ±z, computed without overflow.
                double mgn = yd[i] == 1 ? zi : -zi;
                loss += mgn > 0 ? Math.Log(1 + Math.Exp(-mgn)) : -mgn + Math.Log(1 + Math.Exp(mgn));
                r[i] = (Sigmoid(zi) - yd[i]) / n;
            }
            var gw = grad.AsSpan(0, f);
            x.TransposeMultiply(r, gw);
            grad[f] = r.Sum();
            loss /= n;
            if (o.Penalty == Penalty.L2)
            {
                loss += 0.5 * reg * TensorPrimitives.Dot(w, w);
                TensorPrimitives.MultiplyAdd(w, reg, gw, gw);
            }
            return loss;
        }
        var res = OwlQn.Minimize(Objective, theta, new OwlQnOptions
        {
            L1 = o.Penalty == Penalty.L1 ? reg : 0,
            Penalised = f,
            GradientTolerance = o.Tolerance,
            // Stop on the gradient; the objective-decrease test only catches a solver stuck at rounding level.
            RelativeTolerance = 1e-15,
            MaxIterations = o.MaxIterations,
        });
        return new LogisticModel(theta[..f], theta[f], res.Iterations, res.Converged);
    }

    /// <summary>
    /// Smallest C at which an L1 model uses any feature: every |∂loss/∂wⱼ| at the intercept-only
    /// model stays below 1/(nC) for C below it.
    /// </summary>
    public static double L1CMin(double[] x, int n, int f, ReadOnlySpan<int> y) => L1CMin(new DenseDesign(x, n, f), y);

    public static double L1CMin(DesignMatrix x, ReadOnlySpan<int> y)
    {
        int n = x.Rows;
        double p = 0;
        for (int i = 0; i < n; i++) p += y[i];
        p /= n;
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = p - y[i];
        var g = new double[x.Cols];
        x.TransposeMultiply(r, g);
        double mx = Math.Abs(TensorPrimitives.MaxMagnitude<double>(g));
        return mx == 0 ? double.PositiveInfinity : 1.0 / mx;
    }

    public static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    static double InterceptOnly(double[] y)
    {
        double p = Math.Clamp(y.Average(), 1e-6, 1 - 1e-6);
        return Math.Log(p / (1 - p));
    }
}
