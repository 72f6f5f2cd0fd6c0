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
        int n = x.Length;
        var p = new Problem(f, Math.Min(o.Penalised, n), o.L1);
        var g = new double[n];
        var pg = new double[n];
        var dir = new double[n];
        var xNew = new double[n];
        var gNew = new double[n];
        var memory = new CurvatureMemory(o.History, n);

        double fx = p.Objective(x, g);
        var recent = new Queue<double>();
        int iter = 0;
        bool converged = false;
        for (; iter < o.MaxIterations; iter++)
        {
            PseudoGradient(x, g, pg, p.Penalised, p.Lambda);
            if (MaxAbs(pg) <= o.GradientTolerance) { converged = true; break; }
            SearchDirection(memory, p, pg, dir);
            double step = iter == 0 && memory.Stored == 0 ? Math.Min(1.0, 1.0 / Math.Max(1e-12, Norm(pg))) : 1.0;
            var (accepted, fNew) = LineSearch(p, x, fx, pg, dir, step, xNew, gNew);
            if (!accepted) { converged = MaxAbs(pg) <= Math.Sqrt(o.GradientTolerance); break; }
            memory.Push(x, xNew, g, gNew);
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            double fPrev = fx;
            fx = fNew;
            recent.Enqueue(fPrev);
            if (recent.Count > o.History) recent.Dequeue();
            if (recent.Count == o.History && recent.Peek() - fx <= o.RelativeTolerance * Math.Max(1, Math.Abs(fx))) { converged = true; iter++; break; }
        }
        return new OwlQnResult(fx, iter, converged);
    }

    /// <summary>f + λ‖x[0, Penalised)‖₁.</summary>
    sealed record Problem(Smooth F, int Penalised, double Lambda)
    {
        public double Objective(double[] x, double[] grad) => F(x, grad) + L1Term(x, Penalised, Lambda);
    }

    /// <summary>
    /// dir = −H·pg by the L-BFGS two-loop recursion, projected onto the orthant of −pg (OWL-QN);
    /// steepest descent when that is not a descent direction (the curvature pairs are dropped).
    /// </summary>
    static void SearchDirection(CurvatureMemory memory, Problem p, double[] pg, double[] dir)
    {
        int n = dir.Length;
        for (int j = 0; j < n; j++) dir[j] = -pg[j];
        memory.ApplyInverseHessian(dir);
        if (p.Lambda > 0)
            for (int j = 0; j < p.Penalised; j++) if (dir[j] * pg[j] >= 0) dir[j] = 0;
        if (Dot(dir, pg) >= 0)
        {
            for (int j = 0; j < n; j++) dir[j] = -pg[j];
            memory.Clear();
        }
    }

    /// <summary>
    /// Backtracking from <paramref name="step"/> on the sufficient-decrease condition, each trial
    /// point clipped to the orthant of x (or of −pg where x is 0); fills xNew, gNew.
    /// </summary>
    static (bool Accepted, double FNew) LineSearch(Problem p, double[] x, double fx, double[] pg, double[] dir, double step, double[] xNew, double[] gNew)
    {
        int n = x.Length;
        double fNew = double.NaN;
        double[]? pgNew = null;
        for (int ls = 0; ls < 60; ls++)
        {
            for (int j = 0; j < n; j++) xNew[j] = x[j] + step * dir[j];
            if (p.Lambda > 0)
                for (int j = 0; j < p.Penalised; j++)
                {
                    double orthant = x[j] != 0 ? Math.Sign(x[j]) : -Math.Sign(pg[j]);
                    if (Math.Sign(xNew[j]) != orthant) xNew[j] = 0;
                }
            fNew = p.Objective(xNew, gNew);
            double decrease = 0;
            for (int j = 0; j < n; j++) decrease += pg[j] * (xNew[j] - x[j]);
            if (fNew <= fx + 1e-4 * decrease) return (true, fNew);
            // Near the optimum the decrease drowns in the objective's rounding: then accept a
            // step that does not raise f beyond rounding and shrinks the pseudo-gradient.
            if (fNew - fx <= 1e-14 * Math.Max(1, Math.Abs(fx)))
            {
                pgNew ??= new double[n];
                PseudoGradient(xNew, gNew, pgNew, p.Penalised, p.Lambda);
                if (MaxAbs(pgNew) < MaxAbs(pg)) return (true, fNew);
            }
            step *= 0.5;
        }
        return (false, fNew);
    }

    /// <summary>The last m (s, y) correction pairs of L-BFGS, in a ring.</summary>
    sealed class CurvatureMemory(int m, int n)
    {
        readonly double[][] _s = new double[m][];
        readonly double[][] _y = new double[m][];
        readonly double[] _rho = new double[m];
        readonly double[] _alpha = new double[m];
        int _head;

        public int Stored { get; private set; }

        public void Clear() { Stored = 0; _head = 0; }

        /// <summary>dir ← H·dir (two-loop recursion, initial scaling γ = s·y / y·y of the newest pair).</summary>
        public void ApplyInverseHessian(double[] dir)
        {
            for (int k = 0; k < Stored; k++)
            {
                int i = (_head - 1 - k + m) % m;
                _alpha[i] = _rho[i] * Dot(_s[i], dir);
                Axpy(-_alpha[i], _y[i], dir);
            }
            if (Stored > 0)
            {
                int last = (_head - 1 + m) % m;
                double gamma = Dot(_s[last], _y[last]) / Dot(_y[last], _y[last]);
                for (int j = 0; j < dir.Length; j++) dir[j] *= gamma;
            }
            for (int k = Stored - 1; k >= 0; k--)
            {
                int i = (_head - 1 - k + m) % m;
                double beta = _rho[i] * Dot(_y[i], dir);
                Axpy(_alpha[i] - beta, _s[i], dir);
            }
        }

        /// <summary>Stores s = xNew − x, y = gNew − g when the curvature s·y is positive.</summary>
        public void Push(double[] x, double[] xNew, double[] g, double[] gNew)
        {
            var sNew = _s[_head] ??= new double[n];
            var yNew = _y[_head] ??= new double[n];
            for (int j = 0; j < n; j++) { sNew[j] = xNew[j] - x[j]; yNew[j] = gNew[j] - g[j]; }
            double sy = Dot(sNew, yNew);
            if (sy > 1e-16 * Dot(yNew, yNew))
            {
                _rho[_head] = 1 / sy;
                _head = (_head + 1) % m;
                Stored = Math.Min(Stored + 1, m);
            }
        }
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
