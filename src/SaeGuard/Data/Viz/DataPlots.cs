using SaeGuard.Common;
using SaeGuard.Data.Mixing;
using ScottPlot;
using PlotStyle = SaeGuard.Reports.PlotStyle;

namespace SaeGuard.Data.Viz;

/// <summary>
/// Dataset plots in the analysis plots' dark 200-DPI style: source shares by examples and tokens,
/// token-length histograms per source (log axis), label bars and category bars.
/// </summary>
public static class DataPlots
{
    public const string SourceShares = "01_source_shares.png";
    public const string TokenLengths = "02_token_length_hist.png";
    public const string LabelBars = "03_labels.png";
    public const string CategoryBars = "04_categories.png";

    /// <summary>Renders all four plots into <paramref name="outDir"/>; returns the files written.</summary>
    public static IReadOnlyList<string> Render(IReadOnlyList<DocRecord> docs, IReadOnlyList<int> tokens, string outDir)
    {
        if (docs.Count == 0) throw new UserError("No documents to plot.");
        var table = new SourceTable(docs, tokens);
        var images = new (string Name, byte[] Png)[]
        {
            (SourceShares, SharesPlot(table)),
            (TokenLengths, LengthPlot(docs, tokens, table)),
            (LabelBars, LabelPlot(table)),
            (CategoryBars, CategoryPlot(docs)),
        };
        var written = new List<string>();
        foreach (var (name, png) in images)
        {
            var path = Path.Combine(outDir, name);
            AtomicFile.Write(path, s => s.Write(png));
            written.Add(path);
        }
        return written;
    }

    static byte[] SharesPlot(SourceTable table)
    {
        var plt = NewPlot("Source shares", "", "% of the corpus");
        var bars = new List<Bar>();
        for (int i = 0; i < table.Rows.Count; i++)
        {
            var r = table.Rows[i];
            bars.Add(new Bar { Position = 3 * i, Value = r.ExamplesPct, FillColor = ExamplesColor, Label = $"{r.ExamplesPct:F1}%", Size = 0.9 });
            bars.Add(new Bar { Position = 3 * i + 1, Value = r.TokensPct, FillColor = TokensColor, Label = $"{r.TokensPct:F1}%", Size = 0.9 });
        }
        var bp = plt.Add.Bars(bars);
        bp.ValueLabelStyle.ForeColor = Foreground;
        bp.ValueLabelStyle.FontSize = 11;
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            table.Rows.Select((_, i) => 3.0 * i + 0.5).ToArray(), table.Rows.Select(r => Wrap(r.Source)).ToArray());
        plt.Axes.Margins(bottom: 0, top: 0.15);
        plt.Legend.ManualItems.Add(new LegendItem { LabelText = $"examples (n = {table.TotalExamples:N0})", FillColor = ExamplesColor });
        plt.Legend.ManualItems.Add(new LegendItem { LabelText = $"tokens (n = {table.TotalTokens:N0})", FillColor = TokensColor });
        plt.Legend.Alignment = Alignment.UpperRight;
        return Png(plt);
    }

    static byte[] LengthPlot(IReadOnlyList<DocRecord> docs, IReadOnlyList<int> tokens, SourceTable table)
    {
        var plt = NewPlot("Document length per source", "tokens per document (log scale)", "share of the source's documents");
        double lo = Math.Log10(Math.Max(1, tokens.Min())), hi = Math.Log10(Math.Max(2, tokens.Max()));
        if (hi - lo < 1e-6) hi = lo + 1;
        const int bins = 40;
        double width = (hi - lo) / bins;
        for (int s = 0; s < table.Rows.Count; s++)
        {
            var row = table.Rows[s];
            if (row.Examples == 0) continue;
            var counts = new double[bins];
            for (int i = 0; i < docs.Count; i++)
            {
                if (docs[i].Source != row.Source) continue;
                int b = (int)((Math.Log10(Math.Max(1, tokens[i])) - lo) / width);
                counts[Math.Clamp(b, 0, bins - 1)]++;
            }
            // Step outline: x at bin edges, closing at zero on both sides.
            var xs = new List<double> { lo };
            var ys = new List<double> { 0 };
            for (int b = 0; b < bins; b++) { xs.Add(lo + b * width); ys.Add(counts[b] / row.Examples); }
            xs.Add(hi); ys.Add(0);
            var line = plt.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.LineWidth = 2;
            line.Color = PlotStyle.SeriesColor(s);
            line.LegendText = $"{row.Source} (n = {row.Examples:N0}, median {Median(docs, tokens, row.Source):N0})";
        }
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            LabelFormatter = v => Math.Pow(10, v).ToString("N0"),
        };
        plt.Grid.XAxisStyle.MinorLineStyle.Width = 1;
        plt.Axes.Margins(bottom: 0);
        plt.Legend.Alignment = Alignment.UpperRight;
        plt.ShowLegend();
        return Png(plt);
    }

    static byte[] LabelPlot(SourceTable table)
    {
        var plt = NewPlot("Labels", "", "documents");
        var groups = new (string Name, long Count, Color Color)[]
        {
            ("harmful", table.Rows.Sum(r => r.Harmful), HarmfulColor),
            ("benign", table.Rows.Sum(r => r.Benign), BenignColor),
            ("unlabelled", table.Rows.Sum(r => r.Unlabelled), UnlabelledColor),
        };
        var bars = groups.Select((g, i) => new Bar
        {
            Position = i, Value = g.Count, FillColor = g.Color, Size = 0.7,
            Label = $"{g.Count:N0} ({100.0 * g.Count / Math.Max(1, table.TotalExamples):F1}%)",
        }).ToList();
        var bp = plt.Add.Bars(bars);
        bp.ValueLabelStyle.ForeColor = Foreground;
        bp.ValueLabelStyle.FontSize = 12;
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            groups.Select((_, i) => (double)i).ToArray(), groups.Select(g => g.Name).ToArray());
        plt.Axes.Margins(bottom: 0, top: 0.15);
        return Png(plt);
    }

    static byte[] CategoryPlot(IReadOnlyList<DocRecord> docs)
    {
        const int top = 30;
        var counts = docs.Where(d => d.Category != null).GroupBy(d => d.Category!)
            .Select(g => (Name: g.Key, Count: g.Count())).OrderByDescending(c => c.Count).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        int uncategorised = docs.Count(d => d.Category == null);
        var shown = counts.Take(top).Reverse().ToList();
        var plt = NewPlot(counts.Count > top ? $"Categories (top {top} of {counts.Count})" : "Categories", "documents", "");
        if (shown.Count == 0)
        {
            var text = plt.Add.Text($"no categories ({uncategorised:N0} documents without one)", 0, 0);
            text.LabelFontColor = Foreground;
            text.LabelFontSize = 18;
            text.LabelAlignment = Alignment.MiddleCenter;
            plt.Axes.SetLimits(-1, 1, -1, 1);
            return Png(plt);
        }
        var bars = shown.Select((c, i) => new Bar { Position = i, Value = c.Count, FillColor = CategoryColor, Size = 0.75, Label = c.Count.ToString("N0") }).ToList();
        var bp = plt.Add.Bars(bars);
        bp.Horizontal = true;
        bp.ValueLabelStyle.ForeColor = Foreground;
        bp.ValueLabelStyle.FontSize = 11;
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            shown.Select((_, i) => (double)i).ToArray(), shown.Select(c => c.Name).ToArray());
        plt.Axes.Margins(left: 0, right: 0.12);
        plt.Axes.SetLimitsY(-0.6, Math.Max(shown.Count, 8) - 0.4); // keep bars slim when there are few
        if (uncategorised > 0) plt.XLabel($"documents ({uncategorised:N0} without a category, not shown)");
        return Png(plt);
    }

    static int Median(IReadOnlyList<DocRecord> docs, IReadOnlyList<int> tokens, string source)
    {
        var xs = Enumerable.Range(0, docs.Count).Where(i => docs[i].Source == source).Select(i => tokens[i]).Order().ToList();
        return xs[xs.Count / 2];
    }

    static string Wrap(string label) => label.Length <= 18 ? label : label[..17] + "…";

    // ---- the shared dark 200-DPI style (Reports/PlotStyle), 10 × 6 in = 2000 × 1200 px ----

    const double WidthInches = 10, HeightInches = 6;
    static Color Foreground => PlotStyle.Text;
    static Color ExamplesColor => PlotStyle.SeriesColor(0);
    static Color TokensColor => PlotStyle.SeriesColor(1);
    static Color HarmfulColor => PlotStyle.Harmful;
    static Color BenignColor => PlotStyle.Benign;
    static Color UnlabelledColor => PlotStyle.Muted;
    static Color CategoryColor => PlotStyle.SeriesColor(4);

    static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plt = PlotStyle.Create(title, xLabel, yLabel);
        plt.Axes.Title.Label.FontSize = 20;
        return plt;
    }

    static byte[] Png(Plot plt)
    {
        using (plt) return PlotStyle.RenderPng(plt, WidthInches, HeightInches);
    }
}
