using System.Globalization;
using SaeGuard.Reports;

namespace SaeGuard.Eval;

/// <summary>The eval report page: convention, one table row per SAE, the Pareto plots.</summary>
public static class EvalReport
{
    static string F(double? v, string fmt = "F4") => v is double x && double.IsFinite(x) ? x.ToString(fmt, CultureInfo.InvariantCulture) : "–";

    public static HtmlReport Build(EvalFile e, IReadOnlyList<(string File, byte[] Png, string Caption)> plots)
    {
        var r = new HtmlReport("SAE evaluation", $"{e.Model}, layer {e.Layer} ({e.Hook}), corpus {e.Corpus}");
        r.Heading("What was measured");
        r.List(new[]
        {
            $"Spliced positions: {e.Convention.SplicedPositions}",
            $"Counted predictions: {e.Convention.CountedPredictions}",
            $"Zero ablation: {e.Convention.ZeroAblation}",
            $"Mean ablation: {e.Convention.MeanAblation}",
        });
        bool lm = e.Saes.Any(s => s.ModelPerformancePreservation != null);
        var headers = lm
            ? new[] { "SAE", "arch", "L0", "EV", "cossim", "ce_loss_score", "CE sae", "CE clean", "CE zero", "CE mean", "CE sae+err", "kl_div_score", "KL sae", "frac_alive" }
            : new[] { "SAE", "arch", "L0", "EV", "cossim", "embedding_score", "cos sae", "cos zero", "cos mean", "cos sae+err", "frac_alive" };
        var rows = e.Saes.Select(s =>
        {
            var m = s.ModelPerformancePreservation; var b = s.ModelBehaviorPreservation; var em = s.EmbeddingPreservation;
            var common = new List<string> { s.Name, s.Architecture + (s.K is int k ? $" k={k}" : ""), F(s.Sparsity.L0, "F1"), F(s.ReconstructionQuality.ExplainedVariance), F(s.ReconstructionQuality.Cossim) };
            if (lm) common.AddRange(new[] { F(m?.CeLossScore), F(m?.CeLossWithSae), F(m?.CeLossWithoutSae), F(m?.CeLossWithAblation), F(m?.CeLossWithMeanAblation), F(m?.CeLossWithSaeAndError), F(b?.KlDivScore), F(b?.KlDivWithSae) });
            else common.AddRange(new[] { F(em?.EmbeddingScore), F(em?.EmbeddingCosWithSae), F(em?.EmbeddingCosWithAblation), F(em?.EmbeddingCosWithMeanAblation), F(em?.EmbeddingCosWithSaeAndError) });
            common.Add(F(s.Misc.FracAlive, "F3"));
            return (IReadOnlyList<string>)common;
        });
        r.Heading("Per SAE");
        r.Table(headers, rows);
        foreach (var s in e.Saes)
            if (s.SplicedScore is double sc && sc < 0.5)
                r.Callout($"{s.Name}: poor spliced score ({F(sc, "F3")})",
                    "The model reading this SAE's reconstruction does much worse than the clean model although the SAE may reconstruct well in its own units. A scale mismatch (activations normalised in training but not folded, or folded with the wrong factor) is the usual cause: see hypothesis H3 of `saeguard analyze`.", CalloutKind.Bad);
        var probed = e.Saes.Where(s => s.SparseProbing != null).ToList();
        if (probed.Count > 0)
        {
            r.Heading("k-sparse probing");
            var ks = probed[0].SparseProbing!.K;
            r.Table(new[] { "SAE" }.Concat(ks.Select(k => $"k={k}")).Concat(new[] { "dense", "dense on x̂" }).ToArray(),
                probed.Select(s => (IReadOnlyList<string>)new[] { s.Name }.Concat(s.SparseProbing!.SaeTestAuroc.Select(a => F(a))).Concat(new[] { F(s.SparseProbing.DenseTestAuroc), F(s.SparseProbing.DenseOnReconstructionTestAuroc) }).ToList()),
                $"Test AUROC ({probed[0].SparseProbing!.NTrain} training, {probed[0].SparseProbing!.NTest} test documents).");
        }
        r.Heading("Pareto plots");
        foreach (var (file, png, caption) in plots) r.Image(png, file, caption);
        return r;
    }
}
