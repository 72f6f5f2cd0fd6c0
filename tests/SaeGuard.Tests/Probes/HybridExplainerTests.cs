using SaeGuard.Activations;
using SaeGuard.Probes;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Probes;

public class HybridExplainerTests
{
    const int D = 12;

    [Fact]
    public void Attributions_plus_residual_rebuild_the_dense_logit()
    {
        using var tmp = new TempDir();
        var docs = SyntheticActs.Make(20, 20, D, 1.5, seed: 4);
        SyntheticActs.Write(tmp["acts"], docs, D);
        var sae = SyntheticActs.RandomSae(D, 40, 6, seed: 8);
        var f = DumpFeaturizer.Run(new[] { ActivationDump.Open(tmp["acts"]) }, Enumerable.Range(0, 40).Select(i => (0, i)).ToList(), sae, Pooling.Mean, 0);
        var labels = Enumerable.Range(0, 40).Select(i => i < 20 ? 1 : 0).ToArray();
        var dense = ProbeFitting.FitL2(f.Dense, D, Enumerable.Range(0, 40).ToArray(), labels, 1.0);
        var h = new HybridExplainer(dense, sae);
        var c = new double[40];
        for (int p = 0; p < 40; p++)
        {
            h.Contributions(f.CodeRow(p), c);
            Assert.Equal(dense.Logit(f.DenseRow(p)), h.Baseline + c.Sum() + h.Residual(f.DenseRow(p), f.CodeRow(p)), 9);
        }
    }

    [Fact]
    public void Attribution_is_exact_when_the_sae_reconstructs_perfectly()
    {
        // Latents ±eᵢ with k = d: codes are relu(±xᵢ), so x̂ = x and the mean-pooled codes decode to
        // the mean-pooled activations. Then feature +i contributes mean(relu(xᵢ))·vᵢ and nothing is left over.
        using var tmp = new TempDir();
        var docs = SyntheticActs.Make(15, 15, D, 1.0, seed: 6);
        SyntheticActs.Write(tmp["acts"], docs, D);
        var wDec = new float[2 * D * D];
        for (int i = 0; i < D; i++) { wDec[(2 * i) * D + i] = 1; wDec[(2 * i + 1) * D + i] = -1; }
        var sae = TestSaes.FromDecoder(wDec, new float[D], D, 2 * D, D);
        var f = DumpFeaturizer.Run(new[] { ActivationDump.Open(tmp["acts"]) }, Enumerable.Range(0, 30).Select(i => (0, i)).ToList(), sae, Pooling.Mean, 0);
        var labels = Enumerable.Range(0, 30).Select(i => i < 15 ? 1 : 0).ToArray();
        var dense = ProbeFitting.FitL2(f.Dense, D, Enumerable.Range(0, 30).ToArray(), labels, 1.0);
        var (v, _) = dense.RawDirection();
        var h = new HybridExplainer(dense, sae);
        var c = new double[2 * D];
        for (int p = 0; p < 30; p++)
        {
            Assert.True(Math.Abs(h.Residual(f.DenseRow(p), f.CodeRow(p))) < 1e-5);
            h.Contributions(f.CodeRow(p), c);
            for (int i = 0; i < D; i++)
            {
                double pos = docs[p].Tokens.Average(t => Math.Max(0, (double)t[i]));
                double neg = docs[p].Tokens.Average(t => Math.Max(0, -(double)t[i]));
                Near(pos * v[i], c[2 * i]);
                Near(-neg * v[i], c[2 * i + 1]);
            }
        }
        var (top, residual) = h.Faithfulness(f, Enumerable.Range(0, 30).ToArray(), top: 2 * D);
        Near(1.0, top);
        Near(0.0, residual);
    }

    static void Near(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) < 1e-5, $"expected {expected}, got {actual}");
}
