using System.Text.Json;
using SaeGuard.Probes;

namespace SaeGuard.Tests.Probes;

public class LogisticRegressionTests
{
    sealed record Case(string Name, double[] X, int N, int F, int[] Y, JsonElement Fits);

    static List<Case> Cases()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(ProbeFixtures.SklearnJson));
        var list = new List<Case>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var rows = c.GetProperty("x").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
            var y = c.GetProperty("y").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            list.Add(new Case(c.GetProperty("name").GetString()!, rows.SelectMany(r => r).ToArray(), rows.Length, rows[0].Length, y, c.GetProperty("fits").Clone()));
        }
        return list;
    }

    static double[] Scores(LogisticModel m, double[] x, int n, int f) =>
        Enumerable.Range(0, n).Select(i => m.Logit(x.AsSpan(i * f, f))).ToArray();

    [Theory]
    [InlineData("separable")]
    [InlineData("noisy")]
    public void Matches_scikit_learn_fits(string name)
    {
        var c = Cases().Single(k => k.Name == name);
        foreach (var fit in c.Fits.EnumerateArray())
        {
            var penalty = fit.GetProperty("penalty").GetString() == "l1" ? Penalty.L1 : Penalty.L2;
            double cc = fit.GetProperty("c").GetDouble();
            var m = LogisticRegression.Fit(c.X, c.N, c.F, c.Y, new LogisticOptions { Penalty = penalty, C = cc, Tolerance = 1e-10 });
            Assert.True(m.Converged, $"{name} {penalty} C={cc} did not converge");
            var coef = fit.GetProperty("coef").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            double tol = penalty == Penalty.L2 ? 1e-5 : 2e-4;
            for (int j = 0; j < c.F; j++)
                Assert.True(Math.Abs(coef[j] - m.W[j]) < tol * Math.Max(1, Math.Abs(coef[j])), $"{name} {penalty} C={cc}: w[{j}] = {m.W[j]}, scikit-learn {coef[j]}");
            Assert.True(Math.Abs(fit.GetProperty("intercept").GetDouble() - m.B) < tol * 10, $"{name} {penalty} C={cc}: b = {m.B}");
            if (penalty == Penalty.L1)
                for (int j = 0; j < c.F; j++)
                    Assert.Equal(coef[j] == 0, m.W[j] == 0);
            Assert.Equal(fit.GetProperty("auroc").GetDouble(), BinaryMetrics.Auroc(Scores(m, c.X, c.N, c.F), c.Y), 6);
        }
    }

    [Fact]
    public void L2_matches_a_float64_newton_reference()
    {
        var c = Cases().Single(k => k.Name == "noisy");
        const double C = 0.3;
        var m = LogisticRegression.Fit(c.X, c.N, c.F, c.Y, new LogisticOptions { C = C, Tolerance = 1e-11 });
        var (w, b) = NewtonL2(c.X, c.N, c.F, c.Y, C);
        for (int j = 0; j < c.F; j++) Assert.Equal(w[j], m.W[j], 7);
        Assert.Equal(b, m.B, 7);
    }

    [Fact]
    public void L1_yields_exact_zeros_and_satisfies_the_optimality_conditions()
    {
        var c = Cases().Single(k => k.Name == "noisy");
        const double C = 0.02;
        var m = LogisticRegression.Fit(c.X, c.N, c.F, c.Y, new LogisticOptions { Penalty = Penalty.L1, C = C, Tolerance = 1e-10 });
        Assert.InRange(m.NonZero, 1, c.F - 2);
        // KKT of mean loss + λ‖w‖₁ with λ = 1/(nC): |gⱼ| ≤ λ where wⱼ = 0, gⱼ = −λ·sign(wⱼ) elsewhere, g_b = 0.
        double lambda = 1.0 / (c.N * C);
        var (g, gb) = MeanLossGradient(c.X, c.N, c.F, c.Y, m.W, m.B);
        Assert.True(Math.Abs(gb) < 1e-8);
        for (int j = 0; j < c.F; j++)
        {
            if (m.W[j] == 0) Assert.True(Math.Abs(g[j]) <= lambda * (1 + 1e-6), $"feature {j}: |g| = {Math.Abs(g[j])} > λ = {lambda}");
            else Assert.True(Math.Abs(g[j] + lambda * Math.Sign(m.W[j])) < 1e-8, $"feature {j}: g = {g[j]}, λ = {lambda}");
        }
        // Below C_min nothing enters; just above it, at least one feature does.
        double cMin = LogisticRegression.L1CMin(c.X, c.N, c.F, c.Y);
        Assert.Equal(0, LogisticRegression.Fit(c.X, c.N, c.F, c.Y, new LogisticOptions { Penalty = Penalty.L1, C = cMin * 0.99 }).NonZero);
        Assert.True(LogisticRegression.Fit(c.X, c.N, c.F, c.Y, new LogisticOptions { Penalty = Penalty.L1, C = cMin * 1.2 }).NonZero >= 1);
    }

    [Fact]
    public void Separable_data_is_ranked_perfectly_with_finite_weights()
    {
        var c = Cases().Single(k => k.Name == "separable");
        var m = LogisticRegression.Fit(c.X, c.N, c.F, c.Y, new LogisticOptions { C = 1000 });
        Assert.Equal(1.0, BinaryMetrics.Auroc(Scores(m, c.X, c.N, c.F), c.Y));
        Assert.All(m.W, v => Assert.True(double.IsFinite(v)));
    }

    static (double[] G, double Gb) MeanLossGradient(double[] x, int n, int f, int[] y, double[] w, double b)
    {
        var g = new double[f];
        double gb = 0;
        for (int i = 0; i < n; i++)
        {
            double z = b;
            for (int j = 0; j < f; j++) z += w[j] * x[i * f + j];
            double r = (1 / (1 + Math.Exp(-z)) - y[i]) / n;
            for (int j = 0; j < f; j++) g[j] += r * x[i * f + j];
            gb += r;
        }
        return (g, gb);
    }

    /// <summary>Newton's method on C Σ loss + ½‖w‖² with a dense Hessian solve.</summary>
    static (double[] W, double B) NewtonL2(double[] x, int n, int f, int[] y, double C)
    {
        int p = f + 1;
        var t = new double[p];
        for (int it = 0; it < 50; it++)
        {
            var g = new double[p];
            var h = new double[p, p];
            for (int i = 0; i < n; i++)
            {
                var xi = new double[p];
                for (int j = 0; j < f; j++) xi[j] = x[i * f + j];
                xi[f] = 1;
                double z = 0;
                for (int j = 0; j < p; j++) z += t[j] * xi[j];
                double pr = 1 / (1 + Math.Exp(-z));
                for (int j = 0; j < p; j++)
                {
                    g[j] += C * (pr - y[i]) * xi[j];
                    for (int k = 0; k < p; k++) h[j, k] += C * pr * (1 - pr) * xi[j] * xi[k];
                }
            }
            for (int j = 0; j < f; j++) { g[j] += t[j]; h[j, j] += 1; }
            var step = Solve(h, g);
            for (int j = 0; j < p; j++) t[j] -= step[j];
            if (step.Max(Math.Abs) < 1e-14) break;
        }
        return (t[..f], t[f]);
    }

    static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var v = (double[])b.Clone();
        for (int c = 0; c < n; c++)
        {
            int piv = c;
            for (int r = c + 1; r < n; r++) if (Math.Abs(m[r, c]) > Math.Abs(m[piv, c])) piv = r;
            for (int k = 0; k < n; k++) (m[c, k], m[piv, k]) = (m[piv, k], m[c, k]);
            (v[c], v[piv]) = (v[piv], v[c]);
            for (int r = c + 1; r < n; r++)
            {
                double fct = m[r, c] / m[c, c];
                for (int k = c; k < n; k++) m[r, k] -= fct * m[c, k];
                v[r] -= fct * v[c];
            }
        }
        var x = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double s = v[r];
            for (int k = r + 1; k < n; k++) s -= m[r, k] * x[k];
            x[r] = s / m[r, r];
        }
        return x;
    }
}
