using System.Globalization;
using System.Net;
using System.Text;
using SaeGuard.Reports;

namespace SaeGuard.Probes;

/// <summary>
/// probe/report.html: one self-contained page (the shared <see cref="HtmlReport"/> builder and dark
/// theme) with the comparison table, out-of-fold ROC curves (inline SVG), per-category recall,
/// held-out results and the features the SAE probes use.
/// </summary>
public static class ProbeReport
{
    static readonly (string Kind, string Name, string Color)[] Curves =
    {
        (ProbeKinds.Dense, "dense = hybrid", "#4fc3f7"),
        (ProbeKinds.Sae, "SAE L1", "#ffb74d"),
        (ProbeKinds.SaeTopK, "SAE top-k", "#ba68c8"),
    };

    public static string Render(ProbeMetricsFile m, CrossValidationResult cv, int[] labels, FeatureCatalog catalog)
    {
        var report = new HtmlReport("SaeGuard probe report",
            $"{m.Model} layer {m.Layer} (d = {m.D}) · SAE {m.SaePath} (d_sae = {m.DSae}) · pooling {m.Pooling} · " +
            $"{m.NPerClass} prompts per class · {m.Folds}-fold stratified CV (seed {m.Seed}) · {F(m.Seconds, 1)} s");
        foreach (var section in new[] { Comparison(m), Roc(cv, labels), DataSection(m.Selection), PerCategory(m), HeldOut(m), Features(m, catalog) })
            if (section.Length > 0) report.RawHtml(section);
        return report.Render();
    }

    static string Comparison(ProbeMetricsFile m)
    {
        var sb = new StringBuilder();
        sb.Append("<h2>Comparison (cross-validated, mean ± std over folds)</h2><table><tr><th class=\"l\">probe</th><th>AUROC</th><th>AUPRC</th><th>accuracy</th><th>F1</th><th>TPR @ 1% FPR</th><th>features used</th><th>threshold</th><th>OOF TPR / FPR at threshold</th></tr>");
        foreach (var kind in ProbeKinds.All)
        {
            var s = m.Get(kind);
            sb.Append($"<tr><td class=\"l\"><b>{kind}</b></td><td>{PM(s.Auroc, s.AurocStd)}</td><td>{PM(s.Auprc, s.AuprcStd)}</td><td>{PM(s.Accuracy, s.AccuracyStd)}</td>")
              .Append($"<td>{PM(s.F1, s.F1Std)}</td><td>{PM(s.TprAt1PctFpr, s.TprAt1PctFprStd)}</td><td>{s.NFeaturesUsed} <span class=\"muted\">(folds {F(s.NFeaturesUsedFoldMean, 1)})</span></td>")
              .Append($"<td>{F(s.Threshold, 4)}</td><td>{F(s.ThresholdOofTpr, 3)} / {F(s.ThresholdOofFpr, 3)}</td></tr>");
        }
        sb.Append("</table><ul class=\"muted\">");
        foreach (var kind in ProbeKinds.All) sb.Append($"<li><b>{kind}</b>: {E(m.Get(kind).Description)}</li>");
        sb.Append("<li>Accuracy and F1 at score ≥ 0.5; the stored threshold gives ")
          .Append($"{F(100 * m.ThresholdTargetTpr, 0)}% TPR on out-of-fold training scores and is what classify uses.</li>");
        if (m.Hybrid.Top5AttributionShare is double t5)
            sb.Append($"<li>Hybrid explanations: the top 5 features carry {F(100 * t5, 1)}% of the attribution on average; the SAE's reconstruction error carries {F(100 * (m.Hybrid.SaeResidualShare ?? 0), 1)}%.</li>");
        sb.Append("</ul>");

        return sb.ToString();
    }

    static string Roc(CrossValidationResult cv, int[] labels) =>
        "<h2>ROC curves (out-of-fold scores)</h2>" + RocSvg(cv, labels, logFpr: false) + " " + RocSvg(cv, labels, logFpr: true) +
        "<p class=\"muted\">Right: the same curves with the false-positive rate on a log scale (0.1 % to 100 %), where near-perfect probes differ.</p>";

    static string DataSection(SelectionReport sel)
    {
        var sb = new StringBuilder();
        sb.Append("<h2>Data</h2><table><tr><th class=\"l\"></th><th>harmful</th><th>benign</th></tr>")
          .Append($"<tr><td class=\"l\">available</td><td>{sel.HarmfulAvailable}</td><td>{sel.BenignAvailable}</td></tr>")
          .Append($"<tr><td class=\"l\">used</td><td>{sel.HarmfulUsed}</td><td>{sel.BenignUsed}</td></tr>")
          .Append($"<tr><td class=\"l\">median tokens (available)</td><td>{sel.MedianTokensHarmfulAvailable}</td><td>{sel.MedianTokensBenignAvailable}</td></tr>")
          .Append($"<tr><td class=\"l\">median tokens (used)</td><td>{sel.MedianTokensHarmful}</td><td>{sel.MedianTokensBenign}</td></tr></table>")
          .Append($"<p>Prompt length alone separates the classes with AUROC <b>{F(sel.LengthAuroc, 3)}</b> on the prompts used ({F(sel.LengthAurocAvailable, 3)} on all available); ")
          .Append(sel.LengthMatched ? "the set is length-matched.</p>" : "run with <code>--match-length</code> to remove that shortcut.</p>");
        sb.Append($"<p class=\"muted\">{sel.Unlabelled} unlabelled and {sel.EmptyPrompts} empty prompts skipped.</p><table><tr><th class=\"l\">source</th><th class=\"l\">label</th><th>available</th><th>used</th></tr>");
        foreach (var (src, c) in sel.BySource) sb.Append($"<tr><td class=\"l\">{E(src)}</td><td class=\"l\">{c.Label}</td><td>{c.Available}</td><td>{c.Used}</td></tr>");
        sb.Append("</table>");

        return sb.ToString();
    }

    static string PerCategory(ProbeMetricsFile m)
    {
        var sb = new StringBuilder();
        if (m.Dense.PerCategoryRecall != null || m.Dense.PerCategoryFalsePositiveRate != null)
        {
            sb.Append("<h2>Per category (out-of-fold, at 0.5 / at threshold)</h2><table><tr><th class=\"l\">category</th><th class=\"l\">rate</th><th>n</th>");
            foreach (var kind in ProbeKinds.Fitted) sb.Append($"<th>{kind}</th>");
            sb.Append("</tr>");
            void Rows(Func<ProbeSummary, Dictionary<string, CategoryRate>?> get, string what)
            {
                var keys = get(m.Dense)?.Keys ?? Enumerable.Empty<string>();
                foreach (var cat in keys)
                {
                    sb.Append($"<tr><td class=\"l\">{E(cat)}</td><td class=\"l\">{what}</td><td>{get(m.Dense)![cat].N}</td>");
                    foreach (var kind in ProbeKinds.Fitted)
                    {
                        var r = get(m.Get(kind))![cat];
                        sb.Append($"<td>{F(r.Rate, 3)} / {F(r.RateAtThreshold, 3)}</td>");
                    }
                    sb.Append("</tr>");
                }
            }
            Rows(s => s.PerCategoryRecall, "recall");
            Rows(s => s.PerCategoryFalsePositiveRate, "false positives");
            sb.Append("</table>");
        }

        return sb.ToString();
    }

    static string HeldOut(ProbeMetricsFile m)
    {
        var sb = new StringBuilder();
        if (m.Test.Count > 0)
        {
            sb.Append("<h2>Held-out sets (final probes)</h2><table><tr><th class=\"l\">set</th><th class=\"l\">probe</th><th>n (harmful / benign)</th><th>AUROC</th><th>recall @ threshold</th><th>FPR @ threshold</th><th>flagged @ threshold</th><th>mean score</th></tr>");
            foreach (var t in m.Test)
                foreach (var kind in ProbeKinds.All)
                {
                    var r = t.Probes[kind];
                    sb.Append($"<tr><td class=\"l\">{E(t.Name)}</td><td class=\"l\">{kind}</td><td>{t.N} ({t.NHarmful} / {t.NBenign})</td><td>{F(r.Auroc, 3)}</td>")
                      .Append($"<td>{F(r.RecallAtThreshold, 3)}</td><td>{F(r.FprAtThreshold, 3)}</td><td>{F(r.FlagRateAtThreshold, 3)}</td><td>{F(r.MeanScore, 3)}</td></tr>");
                }
            sb.Append("</table>");
        }

        return sb.ToString();
    }

    static string Features(ProbeMetricsFile m, FeatureCatalog catalog)
    {
        var sb = new StringBuilder();
        sb.Append($"<h2>Features the SAE probes use ({catalog.Explained.Count})</h2>")
          .Append($"<p class=\"muted\">Weight = the change of the decision probe's ({E(m.Decision)}) logit per unit of the feature's pooled activation, the number the feature browser shows as probe weight; SAE L1 and SAE top-k weights in the same units (0 = unused); v·d = the dense probe's direction on the feature's decoder row (its hybrid attribution per unit of activation). Firing rate over the training prompts' tokens.</p>");
        foreach (var f in catalog.Explained)
        {
            sb.Append($"<div class=\"feat\"><h3>#{f.Id} <span class=\"muted\">{E(f.Label)}</span></h3>")
              .Append($"<p>weight <b>{F(f.Weight, 3)}</b> · SAE L1 {F(f.SaeWeight, 3)} · SAE top-k {F(f.SaeTopKWeight, 3)} · v·d {F(f.DenseProjection, 3)} · firing rate {F(100 * f.FiringRate, 2)}% · mean pooled value harmful {F(f.MeanHarmful, 4)} vs benign {F(f.MeanBenign, 4)}</p>");
            if (f.TopTokens.Count > 0)
            {
                sb.Append("<p><b>Top tokens</b></p><ul>");
                foreach (var t in f.TopTokens)
                    sb.Append($"<li>…{E(t.Before)}<span class=\"hit\">{E(t.Token)}</span>{E(t.After)}… <span class=\"muted\">{F(t.Value, 3)} · {E(t.Source)}</span></li>");
                sb.Append("</ul>");
            }
            if (f.TopPrompts.Count > 0)
            {
                sb.Append("<p><b>Top prompts</b></p><ul>");
                foreach (var p in f.TopPrompts)
                    sb.Append($"<li>{E(p.Text)} <span class=\"muted\">{F(p.Value, 3)} · {p.Label} · {E(p.Source)}</span></li>");
                sb.Append("</ul>");
            }
            sb.Append("</div>");
        }
        return sb.ToString();
    }

    static string RocSvg(CrossValidationResult cv, int[] labels, bool logFpr)
    {
        const int size = 340, pad = 44, legend = 180;
        const double minFpr = 1e-3;
        double plot = size - 2 * pad;
        double Fx(double fpr) => logFpr ? (Math.Log10(Math.Max(fpr, minFpr)) - Math.Log10(minFpr)) / -Math.Log10(minFpr) : fpr;
        string X(double fpr) => F(pad + Fx(fpr) * plot, 1);
        string Y(double tpr) => F(size - pad - tpr * plot, 1);
        var sb = new StringBuilder($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size + legend}\" height=\"{size}\" style=\"background:#171b21;border-radius:6px\">");
        var xTicks = logFpr ? new[] { 0.001, 0.01, 0.1, 1.0 } : Enumerable.Range(0, 6).Select(i => i / 5.0).ToArray();
        foreach (var v in xTicks)
            sb.Append($"<line x1=\"{X(v)}\" y1=\"{Y(0)}\" x2=\"{X(v)}\" y2=\"{Y(1)}\" stroke=\"#2a2f36\"/>")
              .Append($"<text x=\"{X(v)}\" y=\"{size - pad + 16}\" fill=\"#9aa4ad\" font-size=\"11\" text-anchor=\"middle\">{(logFpr ? v.ToString("0.###", CultureInfo.InvariantCulture) : F(v, 1))}</text>");
        for (int i = 0; i <= 5; i++)
        {
            double v = i / 5.0;
            sb.Append($"<line x1=\"{X(logFpr ? minFpr : 0)}\" y1=\"{Y(v)}\" x2=\"{X(1)}\" y2=\"{Y(v)}\" stroke=\"#2a2f36\"/>")
              .Append($"<text x=\"{pad - 6}\" y=\"{Y(v)}\" fill=\"#9aa4ad\" font-size=\"11\" text-anchor=\"end\" dominant-baseline=\"middle\">{F(v, 1)}</text>");
        }
        if (!logFpr) sb.Append($"<line x1=\"{X(0)}\" y1=\"{Y(0)}\" x2=\"{X(1)}\" y2=\"{Y(1)}\" stroke=\"#555\" stroke-dasharray=\"4 4\"/>");
        sb.Append($"<text x=\"{size / 2}\" y=\"{size - 10}\" fill=\"#e0e0e0\" font-size=\"12\" text-anchor=\"middle\">false-positive rate{(logFpr ? " (log)" : "")}</text>")
          .Append($"<text x=\"14\" y=\"{size / 2}\" fill=\"#e0e0e0\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {size / 2})\">true-positive rate</text>");
        int row = 0;
        foreach (var (kind, name, color) in Curves)
        {
            var pts = BinaryMetrics.RocCurve(cv.OutOfFold[kind], labels);
            var path = string.Join(" ", pts.Select(p => $"{X(p.Fpr)},{Y(p.Tpr)}"));
            sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{path}\"/>");
            double auc = BinaryMetrics.Auroc(cv.OutOfFold[kind], labels);
            sb.Append($"<rect x=\"{size + 4}\" y=\"{pad + row * 22}\" width=\"14\" height=\"4\" fill=\"{color}\"/>")
              .Append($"<text x=\"{size + 24}\" y=\"{pad + row * 22 + 5}\" fill=\"#e0e0e0\" font-size=\"12\">{E(name)} ({F(auc, 4)})</text>");
            row++;
        }
        return sb.Append("</svg>").ToString();
    }

    static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
    static string F(double v, int digits) => double.IsNaN(v) ? "–" : v.ToString("F" + digits, CultureInfo.InvariantCulture);
    static string F(double? v, int digits) => v is double d ? F(d, digits) : "–";
    static string PM(double mean, double std) => $"{F(mean, 4)} <span class=\"muted\">± {F(std, 4)}</span>";
}
