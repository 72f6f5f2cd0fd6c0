using ScottPlot;
using SaeGuard.Reports;
using PlotStyle = SaeGuard.Reports.PlotStyle;
using static SaeGuard.Analysis.Fmt;

namespace SaeGuard.Analysis;

/// <summary>
/// The category plots of the analysis report (only when documents carry two or more categories):
/// the PCA scatter coloured by category and a category × top-features heat map of document firing
/// rates, in the shared dark 200-DPI style.
/// </summary>
public static class CategoryPlots
{
    public const string PcaFile = "category_pca.png", HeatmapFile = "category_top_features.png";
    /// <summary>Features per category taken into the heat map (their union, in category order).</summary>
    public const int HeatmapPerCategory = 3;

    public static List<(string File, byte[] Png, string Caption)> Render(FeatureStats s, PcaResult? pca, CategoryAnalysis c, IReadOnlyList<string>? labels)
    {
        var features = HeatmapFeatures(c);
        return new List<(string, byte[], string)>
        {
            (PcaFile, PlotStyle.RenderPng(AnalysisPlots.PcaScatter(s, pca, c.DocCategory, "category", maxGroups: 16)),
                "The PCA scatter of plot 07 coloured by the documents' categories: separated clouds mean the codes tell the categories apart."),
            (HeatmapFile, PlotStyle.RenderPng(Heatmap(c, features, labels), heightInches: Math.Max(PlotStyle.DefaultHeightInches, 1.6 + 0.28 * features.Count)),
                $"Share of each category's documents on which a feature fires, for the {HeatmapPerCategory} most specific features of every category (table below)."),
        };
    }

    /// <summary>The union of each category's first <see cref="HeatmapPerCategory"/> features, in category order.</summary>
    public static List<int> HeatmapFeatures(CategoryAnalysis c) =>
        c.Top.SelectMany(t => t.Take(HeatmapPerCategory).Select(f => f.Feature)).Distinct().ToList();

    static Plot Heatmap(CategoryAnalysis c, List<int> features, IReadOnlyList<string>? labels)
    {
        var p = PlotStyle.Create($"Top features by category ({Int(c.Categories.Count)} categories)", "", "feature");
        if (features.Count == 0)
        {
            PlotStyle.Note(p, "no feature fired on a categorised document", Alignment.MiddleCenter);
            return p;
        }
        int rows = features.Count, cols = c.Categories.Count;
        // row 0 of the intensities is drawn at the top; cells are centred on integer coordinates
        var z = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) z[r, q] = c.Rate(q, features[r]);
        var hm = p.Add.Heatmap(z);
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        var bar = p.Add.ColorBar(hm);
        bar.Label = "share of documents";
        bar.LabelStyle.ForeColor = PlotStyle.Text;
        bar.Axis.TickLabelStyle.ForeColor = PlotStyle.Text;
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++)
            {
                var t = p.Add.Text(Pct(z[r, q]), q, rows - 1 - r);
                t.LabelFontSize = 8;
                t.LabelFontColor = z[r, q] > 0.6 ? Colors.Black : Colors.White;
                t.LabelAlignment = Alignment.MiddleCenter;
            }
        p.Axes.Left.SetTicks(Enumerable.Range(0, rows).Select(r => (double)(rows - 1 - r)).ToArray(),
            features.Select(j => FeatureLabels.Name(j, labels)).ToArray());
        p.Axes.Left.TickLabelStyle.FontSize = 9;
        p.Axes.Bottom.SetTicks(Enumerable.Range(0, cols).Select(q => (double)q).ToArray(),
            c.Categories.Select(k => Clip(k.Name, 22)).ToArray());
        p.Axes.Bottom.TickLabelStyle.Rotation = 30;
        p.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        p.Axes.Bottom.TickLabelStyle.FontSize = 9;
        p.Axes.SetLimits(-0.5, cols - 0.5, -0.5, rows - 0.5);
        return p;
    }

    static string Clip(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
