using SaeGuard.Analysis;
using SaeGuard.Eval;
using SaeGuard.Sae;
using SaeGuard.Tests.Analysis;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Eval;

public class DiagnosisLinkTests
{
    static Hypothesis H3(double? splicedScore)
    {
        var (sae, acts, _) = SyntheticSae.Make(2000, 10);
        using var tmp = new TempDir();
        SyntheticSae.WriteDump(tmp["acts"], acts, 2000, SyntheticSae.DIn);
        SaeLensFormat.Save(sae, tmp["sae"]);
        if (splicedScore is double s)
            File.WriteAllText(tmp[$"sae/{EvalRunner.SummaryFileName}"], $$"""{ "eval_json": "/runs/eval/eval.json", "ce_loss_score": {{s.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, "l0": 8 }""");
        var r = AnalysisRunner.Run(AnalysisInput.Open(tmp["acts"], tmp["sae"]), new AnalysisOptions { SampleTokens = 500 }, PcaMode.Centre);
        return r.Diagnosis.Hypotheses.Single(h => h.Id == "H3");
    }

    [Fact]
    public void A_poor_spliced_score_from_eval_is_cited_as_H3_evidence()
    {
        var poor = H3(0.12);
        Assert.True(poor.Supported);
        Assert.Contains("ce_loss_score is 0.12", poor.Evidence);
        Assert.Contains("/runs/eval/eval.json", poor.Evidence);
        Assert.Equal(0.12, poor.Numbers["spliced_score"]!.Value, 6);

        var good = H3(0.93);
        Assert.False(good.Supported); // the scales agree and the model reads x̂ well
        Assert.Contains("ce_loss_score is 0.93", good.Evidence);

        var none = H3(null);
        Assert.False(none.Supported);
        Assert.Null(none.Numbers["spliced_score"]);
    }
}
