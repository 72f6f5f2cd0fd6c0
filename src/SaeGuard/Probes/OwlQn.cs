namespace SaeGuard.Probes;

/// <summary>Settings of <see cref="OwlQn.Minimize"/>.</summary>
public sealed record OwlQnOptions
{
    /// <summary>Weight λ of the L1 term λ Σ|xⱼ| over the penalised coordinates (0 = plain L-BFGS).</summary>
    public double L1 { get; init; }
    /// <summary>Coordinates [0, Penalised) carry the L1 term; the rest (e.g. an intercept) do not.</summary>
    public int Penalised { get; init; } = int.MaxValue;
    /// <summary>Stop when the largest |pseudo-gradient| component is at most this.</summary>
    public double GradientTolerance { get; init; } = 1e-6;
    /// <summary>Or when the objective drops by less than this (relative) over <see cref="History"/> iterations.</summary>
    public double RelativeTolerance { get; init; } = 1e-12;
    public int MaxIterations { get; init; } = 1000;
    /// <summary>Number of (s, y) correction pairs kept.</summary>
    public int History { get; init; } = 10;
}

public sealed record OwlQnResult(double Objective, int Iterations, bool Converged);

/// <summary>
/// Limited-memory quasi-Newton minimisation in float64 of f(x) + λ‖x‖₁ for a smooth f:
/// L-BFGS, with the orthant-wise extension (OWL-QN, Andrew &amp; Gao 2007) when λ &gt; 0, which
/// yields exact zeros. Backtracking line search on the sufficient-decrease condition.
/// </summary>
public static class OwlQn
{
    /// <summary>Smooth part: writes ∇f(x) into grad and returns f(x).</summary>
    public delegate double Smooth(double[] x, double[] grad);

    public static OwlQnResult Minimize(Smooth f, double[] x, OwlQnOptions? options = null)
    {
        var o = options ?? new OwlQnOptions();
        int n = x.Length, m = o.History;
        int penalised = Math.Min(o.Penalised, n);
        double lambda = o.L1;
        var g = new double[n];
        var pg = new double[n];
        var dir = new double[n];
        var xNew = new double[n];
        var gNew = new double[n];
        var pgNew = new double[n];
        var s = new double[m][];
        var y = new double[m][];
        var rho = new double[m];
        var alpha = new double[m];
        int stored = 0, head = 0;

        double fx = f(x, g) + L1Term(x, penalised, lambda);
        var recent = new Queue<double>();
        int iter = 0;
        bool converged = false;
        for (; iter < o.MaxIterations; iter++)
        {
            PseudoGradient(x, g, pg, penalised, lambda);
            if (MaxAbs(pg) <= o.GradientTolerance) { converged = true; break; }

            // dir = −H·pg by the two-loop recursion.
            for (int j = 0; j < n; j++) dir[j] = -pg[j];
            for (int k = 0; k < stored; k++)
            {
                int i = (head - 1 - k + m) % m;
                alpha[i] = rho[i] * Dot(s[i], dir);
                Axpy(-alpha[i], y[i], dir);
            }
            if (stored > 0)
            {
                int last = (head - 1 + m) % m;
                double gamma = Dot(s[last], y[last]) / Dot(y[last], y[last]);
                for (int j = 0; j < n; j++) dir[j] *= gamma;
            }
            for (int k = stored - 1; k >= 0; k--)
            {
                int i = (head - 1 - k + m) % m;
                double beta = rho[i] * Dot(y[i], dir);
                Axpy(alpha[i] - beta, s[i], dir);
            }
            // Keep only components that descend along −pg (OWL-QN direction projection).
            if (lambda > 0)
                for (int j = 0; j < penalised; j++) if (dir[j] * pg[j] >= 0) dir[j] = 0;
            double slope = Dot(dir, pg);
            if (slope >= 0)
            {
                // Not a descent direction (curvature pairs gone stale): restart from steepest descent.
                for (int j = 0; j < n; j++) dir[j] = -pg[j];
                stored = 0; head = 0;
                slope = Dot(dir, pg);
            }

            double step = iter == 0 && stored == 0 ? Math.Min(1.0, 1.0 / Math.Max(1e-12, Norm(pg))) : 1.0;
            double fNew = double.NaN;
            bool accepted = false;
            for (int ls = 0; ls < 60; ls++)
            {
                for (int j = 0; j < n; j++) xNew[j] = x[j] + step * dir[j];
                if (lambda > 0)
                    for (int j = 0; j < penalised; j++)
                    {
                        double orthant = x[j] != 0 ? Math.Sign(x[j]) : -Math.Sign(pg[j]);
                        if (Math.Sign(xNew[j]) != orthant) xNew[j] = 0;
                    }
                fNew = f(xNew, gNew) + L1Term(xNew, penalised, lambda);
                double decrease = 0;
                for (int j = 0; j < n; j++) decrease += pg[j] * (xNew[j] - x[j]);
                if (fNew <= fx + 1e-4 * decrease) { accepted = true; break; }
                // Near the optimum the decrease drowns in the objective's rounding: then accept a
                // step that does not raise f beyond rounding and shrinks the pseudo-gradient.
                if (fNew - fx <= 1e-14 * Math.Max(1, Math.Abs(fx)))
                {
                    PseudoGradient(xNew, gNew, pgNew, penalised, lambda);
                    if (MaxAbs(pgNew) < MaxAbs(pg)) { accepted = true; break; }
                }
                step *= 0.5;
            }
            if (!accepted) { converged = MaxAbs(pg) <= Math.Sqrt(o.GradientTolerance); break; }

            var sNew = s[head] ??= new double[n];
            var yNew = y[head] ??= new double[n];
            for (int j = 0; j < n; j++) { sNew[j] = xNew[j] - x[j]; yNew[j] = gNew[j] - g[j]; }
            double sy = Dot(sNew, yNew);
            if (sy > 1e-16 * Dot(yNew, yNew))
            {
                rho[head] = 1 / sy;
                head = (head + 1) % m;
                stored = Math.Min(stored + 1, m);
            }
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            double fPrev = fx;
            fx = fNew;
            recent.Enqueue(fPrev);
            if (recent.Count > m) recent.Dequeue();
            if (recent.Count == m && recent.Peek() - fx <= o.RelativeTolerance * Math.Max(1, Math.Abs(fx))) { converged = true; iter++; break; }
        }
        return new OwlQnResult(fx, iter, converged);
    }

    /// <summary>The minimum-norm subgradient of f + λ‖x‖₁ (the gradient where differentiable).</summary>
    public static void PseudoGradient(double[] x, double[] g, double[] pg, int penalised, double lambda)
    {
        for (int j = 0; j < x.Length; j++)
        {
            if (j >= penalised || lambda == 0) { pg[j] = g[j]; continue; }
            if (x[j] > 0) pg[j] = g[j] + lambda;
            else if (x[j] < 0) pg[j] = g[j] - lambda;
            else if (g[j] + lambda < 0) pg[j] = g[j] + lambda;
            else if (g[j] - lambda > 0) pg[j] = g[j] - lambda;
            else pg[j] = 0;
        }
    }

    static double L1Term(double[] x, int penalised, double lambda)
    {
        if (lambda == 0) return 0;
        double s = 0;
        for (int j = 0; j < penalised; j++) s += Math.Abs(x[j]);
        return lambda * s;
    }

    static double Dot(double[] a, double[] b) => System.Numerics.Tensors.TensorPrimitives.Dot<double>(a, b);
    static double Norm(double[] a) => Math.Sqrt(Dot(a, a));
    static void Axpy(double a, double[] x, double[] y) => System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<double>(x, a, y, y);

    static double MaxAbs(double[] a)
    {
        double mx = 0;
        foreach (var v in a) mx = Math.Max(mx, Math.Abs(v));
        return mx;
    }
}
