using ScottPlot;
using SaeGuard.Reports;
using PlotStyle = SaeGuard.Reports.PlotStyle;
using static SaeGuard.Analysis.Fmt;

namespace SaeGuard.Analysis;

/// <summary>The seven plots of the analysis report (names fixed by SPEC.md), in the shared dark 200-DPI style.</summary>
public static class AnalysisPlots
{
    public static readonly string[] FileNames =
    {
        "01_firing_rate_hist.png", "02_log10_firing_rate_hist.png", "03_top30_firing_rate.png",
        "04_top30_max_activation.png", "05_top30_mean_when_active.png", "06_active_features_per_token_hist.png",
        "07_pca_scatter.png",
    };

    /// <summary>Renders all seven; returns (file name, PNG bytes, caption) in order.</summary>
    /// <param name="s">The feature statistics.</param>
    /// <param name="pca">The PCA of the token sample (null: plot 07 says why it is missing).</param>
    /// <param name="docGroup">Group (label) of a document id, colouring plot 07 (null: ungrouped).</param>
    /// <param name="groupKind">What the groups are, for the legend title ("label", "category").</param>
    /// <param name="labels">Feature labels from top tokens, shown beside the ids in plots 03–05 (null: ids only).</param>
    public static List<(string File, byte[] Png, string Caption)> Render(FeatureStats s, PcaResult? pca, Func<int, string?> docGroup, string groupKind, IReadOnlyList<string>? labels = null)
    {
        return new List<(string, byte[], string)>
        {
            (FileNames[0], PlotStyle.RenderPng(FiringRateHistogram(s)), "How many features fire on what share of tokens. A healthy SAE has most features near 0 and none near 1."),
            (FileNames[1], PlotStyle.RenderPng(LogFiringRateHistogram(s)), "The same on a log scale (dead features left out): the spread of feature frequencies over decades."),
            (FileNames[2], PlotStyle.RenderPng(TopBars(s, labels, s.FiringRate, "firing rate (share of tokens with value > 0)", "Top 30 features by firing rate", v => Pct(v))), "The most frequent features; rates near 100% are always-on features."),
            (FileNames[3], PlotStyle.RenderPng(TopBars(s, labels, s.Max.Select(v => (double)v).ToArray(), "maximum activation over all tokens", "Top 30 features by maximum activation", v => N(v))), "The largest single activations."),
            (FileNames[4], PlotStyle.RenderPng(TopBars(s, labels, s.MeanActive, "mean activation when active (value > 0)", "Top 30 features by mean activation when active", v => N(v))), "Features with the largest typical magnitude when they fire."),
            (FileNames[5], PlotStyle.RenderPng(L0Histogram(s)), "Active features per token (L0) over all analysed tokens."),
            (FileNames[6], PlotStyle.RenderPng(PcaScatter(s, pca, docGroup, groupKind)), PcaCaption(pca)),
        };
    }

    static string PcaCaption(PcaResult? p) => p == null
        ? "Too few sampled tokens for a PCA."
        : $"The sampled tokens' codes projected on their first two principal components ({ModeText(p.Mode)}). With raw codes a PC1 that explains most of the energy is the constant offset (H2).";

    static string ModeText(PcaMode m) => m switch
    {
        PcaMode.Raw => "raw, not centred",
        PcaMode.Centre => "centred",
        _ => "centred and standardised",
    };

    static Plot FiringRateHistogram(FeatureStats s)
    {
        var p = PlotStyle.Create($"Firing rate per feature ({Int(s.Width)} features, {Int(s.Tokens)} tokens)", "firing rate (share of tokens where the feature is > 0)", "number of features");
        AddHistogram(p, s.FiringRate, 0, 1, 50, PlotStyle.SeriesColor(0));
        p.Axes.SetLimitsX(-0.01, 1.01);
        PlotStyle.Note(p, $"dead (never fire): {Int(s.Dead)}\nfire on > 50% of tokens: {Int(s.AlwaysOn50)}\nfire on > 99% of tokens: {Int(s.AlwaysOn99)}");
        return p;
    }

    static Plot LogFiringRateHistogram(FeatureStats s)
    {
        var live = s.FiringRate.Where(f => f > 0).Select(Math.Log10).ToArray();
        var p = PlotStyle.Create("Firing rate per feature, log scale", "firing rate (log scale)", "number of features");
        // from "one token" (1/N) up to "every token"
        double lo = Math.Max(-9, Math.Floor(Math.Min(Math.Log10(1.0 / Math.Max(2, s.Tokens)), live.Length > 0 ? live.Min() : -1)));
        AddHistogram(p, live, lo, 0, 60, PlotStyle.SeriesColor(0));
        p.Axes.SetLimitsX(lo - 0.05, 0.05);
        var ticks = new List<Tick>();
        for (int e = (int)lo; e <= 0; e++) ticks.Add(new Tick(e, e == 0 ? "1" : Math.Pow(10, e).ToString("0.#########", System.Globalization.CultureInfo.InvariantCulture), true));
        p.Axes.Bottom.SetTicks(ticks.Select(t => t.Position).ToArray(), ticks.Select(t => t.Label).ToArray());
        var one = p.Add.VerticalLine(Math.Log10(1.0 / Math.Max(1, s.Tokens)));
        one.Color = PlotStyle.Muted; one.LinePattern = LinePattern.Dashed; one.LineWidth = 1.5f;
        one.LegendText = "one token";
        var half = p.Add.VerticalLine(Math.Log10(0.5));
        half.Color = PlotStyle.Harmful; half.LinePattern = LinePattern.Dashed; half.LineWidth = 1.5f;
        half.LegendText = "50% of tokens";
        p.ShowLegend(Alignment.UpperLeft);
        PlotStyle.Note(p, $"{Int(live.Length)} live features shown\n{Int(s.Dead)} dead features left out");
        return p;
    }

    static void AddHistogram(Plot p, IReadOnlyList<double> values, double lo, double hi, int bins, Color color)
    {
        if (hi <= lo) hi = lo + 1;
        var counts = new double[bins];
        double width = (hi - lo) / bins;
        foreach (var v in values)
        {
            int b = (int)Math.Floor((v - lo) / width);
            counts[Math.Clamp(b, 0, bins - 1)]++;
        }
        var bars = Enumerable.Range(0, bins).Select(i => new Bar
        {
            Position = lo + (i + 0.5) * width, Value = counts[i], Size = width * 0.95,
            FillColor = color, LineColor = color,
        }).ToList();
        p.Add.Bars(bars);
        p.Axes.Margins(bottom: 0);
    }

    static Plot TopBars(FeatureStats s, IReadOnlyList<string>? labels, double[] values, string xLabel, string title, Func<double, string> label)
    {
        var top = Enumerable.Range(0, s.Width).Where(j => !double.IsNaN(values[j])).OrderByDescending(j => values[j]).ThenBy(j => j).Take(30).ToList();
        var p = PlotStyle.Create(title, xLabel, "feature");
        var bars = top.Select((j, i) => new Bar
        {
            Position = top.Count - 1 - i, Value = values[j], Size = 0.75,
            FillColor = PlotStyle.SeriesColor(1), LineColor = PlotStyle.SeriesColor(1),
            Label = label(values[j]),
        }).ToList();
        var bp = p.Add.Bars(bars);
        bp.Horizontal = true;
        bp.ValueLabelStyle.ForeColor = PlotStyle.Text;
        bp.ValueLabelStyle.FontSize = 9;
        p.Axes.Left.SetTicks(top.Select((_, i) => (double)(top.Count - 1 - i)).ToArray(), top.Select(j => FeatureLabels.Name(j, labels)).ToArray());
        p.Axes.Left.TickLabelStyle.FontSize = 9;
        double max = top.Count > 0 ? values[top[0]] : 1;
        p.Axes.SetLimitsX(0, max > 0 ? max * 1.18 : 1);
        p.Axes.SetLimitsY(-0.8, Math.Max(0, top.Count - 1) + 0.8);
        return p;
    }

    static Plot L0Histogram(FeatureStats s)
    {
        var h = s.L0Histogram;
        var p = PlotStyle.Create($"Active features per token (L0), {Int(s.Tokens)} tokens", "active features per token (value > 0)", "number of tokens");
        int lo = s.L0.Min, hi = s.L0.Max;
        int bins = Math.Max(1, Math.Min(60, hi - lo + 1));
        double width = (hi - lo + 1) / (double)bins;
        var counts = new double[bins];
        for (int v = lo; v <= hi; v++) counts[Math.Min(bins - 1, (int)((v - lo) / width))] += h[v];
        var bars = Enumerable.Range(0, bins).Select(i => new Bar
        {
            Position = lo + (i + 0.5) * width - 0.5, Value = counts[i], Size = width * 0.95,
            FillColor = PlotStyle.SeriesColor(2), LineColor = PlotStyle.SeriesColor(2),
        }).ToList();
        p.Add.Bars(bars);
        p.Axes.Margins(bottom: 0);
        // a narrow L0 range (TopK: one value) still gets some context on both sides
        double pad = Math.Max(5, 0.05 * (hi - lo + 1));
        p.Axes.SetLimitsX(Math.Max(-0.5, lo - pad), hi + pad);
        var mean = p.Add.VerticalLine(s.L0.Mean);
        mean.Color = PlotStyle.SeriesColor(3); mean.LineWidth = 2; mean.LinePattern = LinePattern.Dashed;
        mean.LegendText = $"mean {N(s.L0.Mean, 1)}";
        p.ShowLegend(Alignment.UpperLeft);
        PlotStyle.Note(p, $"median {N(s.L0.Median, 1)} · p95 {N(s.L0.P95, 1)} · p99 {N(s.L0.P99, 1)}\nwidth {Int(s.Width)} features ({Pct(s.L0.Mean / s.Width)} active on average)");
        return p;
    }

    /// <param name="s">The feature statistics.</param>
    /// <param name="pca">The PCA of the token sample (null: a note says why it is missing).</param>
    /// <param name="docGroup">Group of a document id (null: ungrouped).</param>
    /// <param name="groupKind">What the groups are, for the legend title.</param>
    /// <param name="maxGroups">Groups drawn (most populous kept past it); past the 8 series colours the markers turn square.</param>
    internal static Plot PcaScatter(FeatureStats s, PcaResult? pca, Func<int, string?> docGroup, string groupKind, int maxGroups = 8)
    {
        if (pca == null)
        {
            var empty = PlotStyle.Create("PCA of sampled tokens", "PC1", "PC2");
            PlotStyle.Note(empty, "too few sampled tokens for a PCA", Alignment.MiddleCenter);
            return empty;
        }
        var p = PlotStyle.Create($"PCA of {Int(pca.Rows.Count)} sampled tokens ({ModeText(pca.Mode)})",
            $"PC1 ({Pct(pca.Explained1)} of the {(pca.Mode == PcaMode.Raw ? "energy" : "variance")})",
            $"PC2 ({Pct(pca.Explained2)})");
        var groups = pca.Rows.Select(r => docGroup(r.DocId)).ToArray();
        var all = groups.Where(g => g != null).Distinct().ToList();
        var names = all.Count <= maxGroups ? all : all.OrderByDescending(g => groups.Count(x => x == g)).ThenBy(g => g).Take(maxGroups).ToList();
        names = names.OrderBy(g => g == "harmful" ? 0 : g == "benign" ? 1 : 2).ThenBy(g => g).ToList();
        if (names.Count == 0)
        {
            var sc = p.Add.ScatterPoints(pca.Pc1, pca.Pc2);
            sc.Color = PlotStyle.SeriesColor(0).WithAlpha(0.55); sc.MarkerSize = 4;
        }
        else
        {
            for (int g = 0; g < names.Count; g++)
            {
                var idx = Enumerable.Range(0, groups.Length).Where(i => groups[i] == names[g]).ToArray();
                var sc = p.Add.ScatterPoints(idx.Select(i => pca.Pc1[i]).ToArray(), idx.Select(i => pca.Pc2[i]).ToArray());
                var color = names[g] == "harmful" ? PlotStyle.Harmful : names[g] == "benign" ? PlotStyle.Benign : PlotStyle.SeriesColor(g);
                sc.Color = color.WithAlpha(0.6); sc.MarkerSize = 4;
                if (g >= PlotStyle.Series.Count) sc.MarkerShape = MarkerShape.FilledSquare;
                sc.LegendText = $"{names[g]} ({Int(idx.Length)})";
            }
            p.Legend.FontSize = 10;
            p.ShowLegend(Alignment.UpperRight);
            p.Legend.ManualItems.Clear();
        }
        if (names.Count > 0) PlotStyle.Note(p, $"coloured by {groupKind}" + (all.Count > names.Count ? $" ({Int(all.Count - names.Count)} smaller groups not shown)" : ""), Alignment.LowerRight);
        return p;
    }
}
