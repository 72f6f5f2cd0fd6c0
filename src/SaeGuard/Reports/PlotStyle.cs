using ScottPlot;
using SaeGuard.Common;

namespace SaeGuard.Reports;

/// <summary>
/// SaeGuard's shared plot look: dark background, light text, a colour-blind-friendly palette,
/// sans-serif fonts, and PNGs rendered at 200 DPI (pixel size = inches × 200, pHYs chunk set).
/// Use <see cref="Create"/> for a styled plot and <see cref="SavePng"/> / <see cref="RenderPng"/> to write it.
/// </summary>
public static class PlotStyle
{
    public const int Dpi = 200;
    /// <summary>ScottPlot sizes text and lines for 96 DPI screens; scale them up to keep proportions at 200 DPI.</summary>
    public const float ScaleFactor = Dpi / 96f;
    public const double DefaultWidthInches = 8, DefaultHeightInches = 5;

    public static readonly Color Figure = Color.FromHex("#14161b");
    public static readonly Color Data = Color.FromHex("#1c1f26");
    public static readonly Color Text = Color.FromHex("#e2e4e9");
    public static readonly Color Muted = Color.FromHex("#9aa0ab");
    public static readonly Color Grid = Color.FromHex("#30343d");

    /// <summary>Okabe–Ito-like series colours, readable on the dark background.</summary>
    public static readonly IReadOnlyList<Color> Series = new[]
    {
        Color.FromHex("#56b4e9"), Color.FromHex("#e69f00"), Color.FromHex("#009e73"), Color.FromHex("#f0e442"),
        Color.FromHex("#cc79a7"), Color.FromHex("#d55e00"), Color.FromHex("#0072b2"), Color.FromHex("#bbbbbb"),
    };
    /// <summary>Conventional colours for the harmful / benign labels.</summary>
    public static readonly Color Harmful = Color.FromHex("#ff6b6b");
    public static readonly Color Benign = Color.FromHex("#4fc3f7");

    public static Color SeriesColor(int i) => Series[((i % Series.Count) + Series.Count) % Series.Count];

    /// <summary>A new plot with the dark style, a title and axis labels.</summary>
    public static Plot Create(string title, string xLabel, string yLabel)
    {
        var p = new Plot();
        Apply(p);
        p.Title(title);
        if (xLabel.Length > 0) p.XLabel(xLabel);
        if (yLabel.Length > 0) p.YLabel(yLabel);
        return p;
    }

    public static void Apply(Plot p)
    {
        p.Font.Set(PreferredFont());
        p.FigureBackground.Color = Figure;
        p.DataBackground.Color = Data;
        p.Axes.Color(Text);
        p.Grid.MajorLineColor = Grid;
        p.Grid.MinorLineColor = Grid.WithAlpha(0.35);
        p.Legend.BackgroundColor = Data.WithAlpha(0.9);
        p.Legend.FontColor = Text;
        p.Legend.OutlineColor = Muted;
        p.Add.Palette = Palette.FromColors(Series.ToArray());
        p.ScaleFactor = ScaleFactor;
    }

    /// <summary>A small note in the plot's corner (e.g. how many points, what was excluded).</summary>
    public static void Note(Plot p, string text, Alignment where = Alignment.UpperRight)
    {
        var t = p.Add.Annotation(text, where);
        t.LabelFontColor = Text;
        t.LabelBackgroundColor = Figure.WithAlpha(0.8);
        t.LabelBorderColor = Muted;
        t.LabelFontSize = 11;
    }

    static string? _font;

    static string PreferredFont()
    {
        if (_font != null) return _font;
        var installed = SkiaSharp.SKFontManager.Default.GetFontFamilies();
        foreach (var name in new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica" })
            if (installed.Contains(name, StringComparer.OrdinalIgnoreCase)) return _font = name;
        return _font = Fonts.Default;
    }

    /// <summary>PNG bytes at 200 DPI: <paramref name="widthInches"/> × <paramref name="heightInches"/> inches.</summary>
    public static byte[] RenderPng(Plot p, double widthInches = DefaultWidthInches, double heightInches = DefaultHeightInches)
    {
        int w = (int)Math.Round(widthInches * Dpi), h = (int)Math.Round(heightInches * Dpi);
        var bytes = p.GetImage(w, h).GetImageBytes(ImageFormat.Png, 100);
        return PngMetadata.WithDpi(bytes, Dpi);
    }

    /// <summary>Renders and writes the PNG atomically; returns its bytes (e.g. to embed in HTML).</summary>
    public static byte[] SavePng(Plot p, string path, double widthInches = DefaultWidthInches, double heightInches = DefaultHeightInches)
    {
        var bytes = RenderPng(p, widthInches, heightInches);
        AtomicFile.Write(path, s => s.Write(bytes));
        return bytes;
    }
}
