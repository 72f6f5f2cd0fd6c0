using ScottPlot;
using SaeGuard.Reports;
using PlotStyle = SaeGuard.Reports.PlotStyle;

namespace SaeGuard.Eval;

/// <summary>SAEBench-style Pareto plots of an eval: one point (or line) per SAE.</summary>
public static class EvalPlots
{
    public static List<(string File, byte[] Png, string Caption)> Render(IReadOnlyList<SaeEvalResult> saes)
    {
        var list = new List<(string, byte[], string)>();
        bool lm = saes.Any(s => s.ModelPerformancePreservation != null);
        string scoreName = lm ? "ce_loss_score" : "embedding_score";
        list.Add(("01_l0_vs_spliced_score.png", PlotStyle.RenderPng(Pareto(saes, s => s.SplicedScore ?? double.NaN, scoreName, $"L0 vs {scoreName} (spliced into the model)")),
            $"Sparsity against faithfulness: {scoreName} is 1 when the model reading the SAE's reconstruction does as well as the clean model, 0 when it does no better than with the layer zeroed."));
        list.Add(("02_l0_vs_explained_variance.png", PlotStyle.RenderPng(Pareto(saes, s => s.ReconstructionQuality.ExplainedVariance, "explained variance", "L0 vs explained variance (held-out rows)")),
            "Sparsity against reconstruction of the activations themselves."));
        if (saes.Any(s => s.SparseProbing != null))
            list.Add(("03_k_vs_sparse_probe_auroc.png", PlotStyle.RenderPng(KSparse(saes)),
                "k-sparse probing: test AUROC of a logistic probe on the k latents whose class means differ most; the dashed line is the dense probe on all activations."));
        return list;
    }

    static string Label(SaeEvalResult s) => s.Name + (s.K is int k ? $" (k={k})" : "");

    static Plot Pareto(IReadOnlyList<SaeEvalResult> saes, Func<SaeEvalResult, double> y, string yLabel, string title)
    {
        var p = PlotStyle.Create(title, "L0 (active latents per token)", yLabel);
        for (int i = 0; i < saes.Count; i++)
        {
            var s = saes[i];
            var sc = p.Add.ScatterPoints(new[] { s.Sparsity.L0 }, new[] { y(s) });
            sc.Color = PlotStyle.SeriesColor(i); sc.MarkerSize = 10;
            sc.LegendText = Label(s);
        }
        var ordered = saes.Where(s => double.IsFinite(y(s))).OrderBy(s => s.Sparsity.L0).ToList();
        if (ordered.Count > 1)
        {
            var line = p.Add.ScatterLine(ordered.Select(s => s.Sparsity.L0).ToArray(), ordered.Select(y).ToArray());
            line.Color = PlotStyle.Muted.WithAlpha(0.6); line.LineWidth = 1.5f; line.MarkerSize = 0;
        }
        p.ShowLegend(Alignment.LowerRight);
        return p;
    }

    static Plot KSparse(IReadOnlyList<SaeEvalResult> saes)
    {
        var p = PlotStyle.Create("k-sparse probing", "k (latents in the probe)", "test AUROC");
        double? dense = null;
        for (int i = 0; i < saes.Count; i++)
        {
            var sp = saes[i].SparseProbing;
            if (sp == null) continue;
            var sc = p.Add.Scatter(sp.K.Select(k => (double)k).ToArray(), sp.SaeTestAuroc);
            sc.Color = PlotStyle.SeriesColor(i); sc.LineWidth = 2; sc.MarkerSize = 7;
            sc.LegendText = Label(saes[i]);
            dense ??= sp.DenseTestAuroc;
        }
        if (dense is double dv && double.IsFinite(dv))
        {
            var h = p.Add.HorizontalLine(dv);
            h.Color = PlotStyle.Text; h.LinePattern = LinePattern.Dashed; h.LineWidth = 1.5f;
            h.LegendText = "dense probe";
        }
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic();
        p.ShowLegend(Alignment.LowerRight);
        return p;
    }
}
