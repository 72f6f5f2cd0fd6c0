using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Training;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Tests.Sae;

/// <summary>Every architecture's analytic gradients (float32 sparse kernels) against float64 finite differences.</summary>
public class GradientTests
{
    const int D = 8, M = 24, N = 12;

    static (SaeParams P, float[] X) Problem(int seed, bool theta)
    {
        var rng = new Random(seed);
        float G() => (float)(rng.NextDouble() * 2 - 1);
        var p = new SaeParams(D, M, theta);
        for (int i = 0; i < p.WEncT.Length; i++) { p.WEncT[i] = G() * 0.6f; p.WDec[i] = G() * 0.5f; }
        for (int j = 0; j < M; j++) p.BEnc[j] = G() * 0.2f;
        for (int i = 0; i < D; i++) p.BDec[i] = G() * 0.3f;
        if (theta) for (int j = 0; j < M; j++) p.Theta![j] = 0.15f + 0.3f * (float)rng.NextDouble();
        var x = new float[N * D];
        for (int i = 0; i < x.Length; i++) x[i] = G() * 1.5f;
        return (p, x);
    }

    [Theory]
    [InlineData("topk", false)]
    [InlineData("topk", true)]
    [InlineData("batchtopk", true)]
    [InlineData("relu", false)]
    [InlineData("jumprelu", false)]
    public void Analytic_gradients_match_float64_finite_differences(string arch, bool withDeadLatents)
    {
        var (p, xf) = Problem(arch.Length * 7 + (withDeadLatents ? 1 : 0), arch == "jumprelu");
        var o = new SaeTrainOptions { Arch = arch, K = 4, Latents = M, L1 = arch == "relu" ? 0.5 : 0.3, JumpReluBandwidth = 0.2 / Math.Sqrt(D), AuxK = 3, AuxCoefficient = 0.5, Threads = 1 };
        using var be = new CpuBackend(1);
        var sae = TrainingSae.Create(o, D, M);
        var step = new SaeStep(sae, o, D, M);
        var ctx = new StepContext(be, D, M);
        ctx.Prepare(N);
        xf.CopyTo(ctx.X, 0);
        var tracker = new FiringTracker(M, 1_000_000);
        int[] dead = withDeadLatents ? Enumerable.Range(0, M).Where(j => j % 2 == 0).ToArray() : Array.Empty<int>();
        tracker.ForceDead(dead);
        var grads = new SaeParams(D, M, arch == "jumprelu");
        var stats = step.Compute(ctx, p, grads, tracker, o.SparsityCoefficient);

        var refSae = new ReferenceSae { Arch = arch, D = D, M = M, K = 4, Coef = o.SparsityCoefficient, Bandwidth = 0.2, KAux = 3, AuxCoef = 0.5, DeadBefore = dead };
        var x = new double[N, D];
        for (int t = 0; t < N; t++) for (int i = 0; i < D; i++) x[t, i] = xf[t * D + i];
        var rp = ReferenceSae.P.From(p);
        double[,]? residual = null;
        double baseLoss = refSae.Loss(rp, x, ref residual);
        if (withDeadLatents) Assert.True(stats.AuxLoss > 0, "the AuxK path was not exercised");
        Assert.Equal(baseLoss, stats.Loss, 1e-4 * Math.Max(1, Math.Abs(baseLoss)));

        const double h = 1e-5;
        var analytic = new Dictionary<string, float[]> { ["W_enc_t"] = grads.WEncT, ["b_enc"] = grads.BEnc, ["W_dec"] = grads.WDec, ["b_dec"] = grads.BDec };
        int checkedNonZero = 0;
        foreach (var (name, values) in rp.All())
        {
            if (name == "theta") continue;
            for (int i = 0; i < values.Length; i++)
            {
                double keep = values[i];
                values[i] = keep + h; double lp = refSae.Loss(rp, x, ref residual);
                values[i] = keep - h; double lm = refSae.Loss(rp, x, ref residual);
                values[i] = keep;
                double fd = (lp - lm) / (2 * h);
                double got = analytic[name][i];
                Assert.True(Math.Abs(got - fd) <= 2e-4 + 2e-3 * Math.Abs(fd), $"{arch}: ∂L/∂{name}[{i}] analytic {got} vs finite difference {fd}");
                if (Math.Abs(fd) > 1e-3) checkedNonZero++;
            }
        }
        Assert.True(checkedNonZero > 50, $"only {checkedNonZero} non-zero gradient entries were compared");

        if (arch == "jumprelu")
        {
            var gTheta = refSae.ThetaGradient(rp, x);
            Assert.Contains(gTheta, v => Math.Abs(v) > 1e-3);
            for (int j = 0; j < M; j++)
                Assert.True(Math.Abs(grads.Theta![j] - gTheta[j]) <= 1e-4 + 1e-3 * Math.Abs(gTheta[j]), $"θ[{j}]: {grads.Theta[j]} vs {gTheta[j]}");
        }
    }
}
