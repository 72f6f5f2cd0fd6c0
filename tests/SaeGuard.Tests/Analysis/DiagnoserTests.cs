using SaeGuard.Analysis;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Analysis;

/// <summary>One synthetic case per hypothesis; each must name the right hypothesis and only it.</summary>
public class DiagnoserTests
{
    static string[] SupportedIds(Diagnosis d) => d.Supported.Select(h => h.Id).ToArray();

    static Diagnosis Diagnose(float[] x, int rows, int w, InputFacts? facts = null) =>
        Diagnoser.Diagnose(Synthetic.Analyze(x, rows, w), facts);

    [Fact]
    public void HealthyTopKCodesAreSparseWithNoHypothesis()
    {
        var d = Diagnose(Synthetic.HealthyTopK(3000, 1024, 16, 1), 3000, 1024);
        Assert.Equal("sparse", d.Verdict);
        Assert.Empty(SupportedIds(d));
        Assert.Equal(new[] { "H1", "H2", "H3", "AXIS" }, d.Hypotheses.Select(h => h.Id));
        Assert.All(d.Hypotheses, h => Assert.False(string.IsNullOrWhiteSpace(h.Evidence)));
    }

    [Fact]
    public void ReluCodesWithALargePositiveBiasAreDenseAndH2()
    {
        var d = Diagnose(Synthetic.OffsetRelu(3000, 512, 0.6, 2), 3000, 512);
        Assert.Equal("dense", d.Verdict);
        Assert.Equal(new[] { "H2" }, SupportedIds(d));
        var h2 = d.Hypotheses.Single(h => h.Id == "H2");
        Assert.True(h2.Numbers["always_on_099"] > 0.5 * 512 * 0.6, h2.Evidence);
        Assert.Contains("99%", h2.Evidence);
        Assert.False(string.IsNullOrWhiteSpace(h2.Advice));
    }

    [Fact]
    public void WeakL1CodesAreDenseAndH1()
    {
        var d = Diagnose(Synthetic.WeakL1(3000, 512, 3), 3000, 512);
        Assert.Equal("dense", d.Verdict);
        Assert.Equal(new[] { "H1" }, SupportedIds(d));
        var h1 = d.Hypotheses.Single(h => h.Id == "H1");
        Assert.True(h1.Numbers["eps_0.01_retention"] > 0.9, h1.Evidence);
        Assert.Contains("slow decrease", h1.Evidence);
    }

    [Fact]
    public void ATransposedMatrixIsAxis()
    {
        const int tokens = 3000, w = 1024;
        var t = Synthetic.Transpose(Synthetic.HealthyTopK(tokens, w, 16, 4), tokens, w);
        var d = Diagnose(t, w, tokens);
        Assert.Equal("suspicious", d.Verdict);
        Assert.Equal(new[] { "AXIS" }, SupportedIds(d));
        Assert.Contains("exactly 16", d.Hypotheses.Single(h => h.Id == "AXIS").Evidence);
    }

    [Fact]
    public void ATransposedWeakL1MatrixIsAxisFromTheSpreadOfCounts()
    {
        // not TopK, so no constant column count: the spread of the two axes gives it away
        const int tokens = 2000, w = 300;
        var rng = new Random(9);
        var x = new float[tokens * w];
        var rate = Enumerable.Range(0, w).Select(_ => Math.Pow(10, -3.3 * rng.NextDouble())).ToArray();
        for (int r = 0; r < tokens; r++)
            for (int j = 0; j < w; j++) if (rng.NextDouble() < rate[j]) x[r * w + j] = (float)(1 + rng.NextDouble());
        var straight = Diagnose(x, tokens, w);
        Assert.DoesNotContain("AXIS", SupportedIds(straight));
        var d = Diagnose(Synthetic.Transpose(x, tokens, w), w, tokens);
        Assert.Equal(new[] { "AXIS" }, SupportedIds(d));
        Assert.Contains("swapped", d.Hypotheses.Single(h => h.Id == "AXIS").Evidence);
    }

    [Fact]
    public void AMetaJsonThatFitsOnlyTheTransposeIsAxis()
    {
        var s = Synthetic.Analyze(Synthetic.HealthyTopK(500, 256, 8, 5), 500, 256);
        var facts = new InputFacts { Source = "foreign dump", MetaTokens = 256, MetaWidth = 500, TransposedPerMeta = true, Rows = 500, Width = 256 };
        var d = Diagnoser.Diagnose(s, facts);
        Assert.Equal(new[] { "AXIS" }, SupportedIds(d));
        Assert.Contains("meta.json says 256 tokens", d.Hypotheses.Single(h => h.Id == "AXIS").Evidence);
    }

    [Fact]
    public void AReconstructionPassedAsCodesIsAxis()
    {
        const int tokens = 1500, w = 512, dIn = 64;
        var xhat = Synthetic.Reconstruction(Synthetic.HealthyTopK(tokens, w, 16, 6), tokens, w, dIn, 7);
        var d = Diagnose(xhat, tokens, dIn);
        Assert.Equal("suspicious", d.Verdict);
        Assert.Equal(new[] { "AXIS" }, SupportedIds(d));
        var axis = d.Hypotheses.Single(h => h.Id == "AXIS");
        Assert.Contains("negative", axis.Evidence);
        Assert.Contains("exactly zero", axis.Evidence);
        Assert.StartsWith("Not assessed", d.Hypotheses.Single(h => h.Id == "H1").Evidence);
    }

    static AnalysisResult AnalyzeWithSae(SaeModel sae, float[] acts, int rows)
    {
        using var tmp = new TempDir();
        SyntheticSae.WriteDump(tmp["acts"], acts, rows, SyntheticSae.DIn);
        SaeLensFormat.Save(sae, tmp["sae"]);
        var input = AnalysisInput.Open(tmp["acts"], tmp["sae"]);
        return AnalysisRunner.Run(input, new AnalysisOptions { SampleTokens = 500 }, PcaMode.Centre);
    }

    [Fact]
    public void ActivationsAtTheTrainingScaleRaiseNoHypothesis()
    {
        var (sae, acts, _) = SyntheticSae.Make(2000, 10);
        var r = AnalyzeWithSae(sae, acts, 2000);
        Assert.Equal("sparse", r.Diagnosis.Verdict);
        Assert.Empty(SupportedIds(r.Diagnosis));
        Assert.True(r.Reconstruction!.ExplainedVariance > 0.5, $"EV {r.Reconstruction.ExplainedVariance}");
        Assert.Equal(1.0, r.Diagnosis.Hypotheses.Single(h => h.Id == "H3").Numbers["norm_ratio"]!.Value, 2);
    }

    [Fact]
    public void ActivationsScaledTenTimesAreH3()
    {
        var (sae, acts, norm) = SyntheticSae.Make(2000, 10);
        SyntheticSae.Scale(acts, 10);
        var r = AnalyzeWithSae(sae, acts, 2000);
        Assert.Equal(new[] { "H3" }, SupportedIds(r.Diagnosis));
        var h3 = r.Diagnosis.Hypotheses.Single(h => h.Id == "H3");
        Assert.Equal(10.0, h3.Numbers["norm_ratio"]!.Value, 1);
        Assert.Equal(10 * norm, r.Reconstruction!.MeanNorm, 1);
        // rescaling back to the training scale restores the reconstruction
        var probe = r.Reconstruction.ScaleProbe;
        Assert.True(probe[1].ExplainedVariance > probe[0].ExplainedVariance + 0.1, string.Join(", ", probe));
        Assert.Contains("multiply them by ≈0.1", h3.Advice);
    }

    [Fact]
    public void WithoutARecordedScaleTheScaleProbeFindsH3()
    {
        var (sae, acts, _) = SyntheticSae.Make(2000, 12, recordNorm: false);
        SyntheticSae.Scale(acts, 10);
        var r = AnalyzeWithSae(sae, acts, 2000);
        Assert.Equal(new[] { "H3" }, SupportedIds(r.Diagnosis));
        var best = r.Diagnosis.Hypotheses.Single(h => h.Id == "H3").Numbers["best_probe_scale"]!.Value;
        Assert.InRange(best, 1.0 / 16, 1.0 / 4);
    }

    [Fact]
    public void AnSaeWhoseBiasTurnsLatentsOnIsH2()
    {
        var (sae, acts, _) = SyntheticSae.Make(1500, 13, arch: "relu", bEnc: 2f);
        var r = AnalyzeWithSae(sae, acts, 1500);
        Assert.Equal("dense", r.Diagnosis.Verdict);
        Assert.Equal(new[] { "H2" }, SupportedIds(r.Diagnosis));
        Assert.Equal(SyntheticSae.DSae, r.Sae!.PositiveAtBDec);
        Assert.Equal(1.0, r.Sae.BEncPositiveShare);
    }

    [Fact]
    public void AReluSaeWithASmallL1InItsConfigSupportsH1()
    {
        // dense but tiny values (they fall quickly with eps): the codes alone do not make the case…
        var x = Synthetic.WeakL1(800, 128, 14);
        SyntheticSae.Scale(x, 0.002f);
        var s = Synthetic.Analyze(x, 800, 128);
        Assert.Empty(SupportedIds(Diagnoser.Diagnose(s)));
        Assert.Equal("dense", Diagnoser.Diagnose(s).Verdict);
        // …the SAE's own cfg (ReLU + L1 = 5e-4) does
        var (sae, _, _) = SyntheticSae.Make(10, 14, arch: "relu", bEnc: -1f, l1: "0.0005");
        var facts = SaeFacts.From(sae);
        Assert.Equal(0.0005, facts.L1Coefficient);
        var d = Diagnoser.Diagnose(s, null, facts, null);
        Assert.Equal(new[] { "H1" }, SupportedIds(d));
        var h1 = d.Hypotheses.Single(h => h.Id == "H1");
        Assert.Equal(0.0005, h1.Numbers["l1_coefficient"]);
        Assert.Contains("L1 coefficient 5e-4", h1.Evidence);
    }
}
