using System.Text.Json;
using System.Text.RegularExpressions;
using SaeGuard.Analysis;
using SaeGuard.Reports;
using SaeGuard.Tests.Infrastructure;
using SkiaSharp;

namespace SaeGuard.Tests.Analysis;

public class ReportTests
{
    /// <summary>A labelled codes dump → the CLI → the report folder (shared by the tests below).</summary>
    static (TempDir Tmp, string Report, string Stdout) RunCli(params string[] extra)
    {
        var tmp = new TempDir();
        const int rows = 1200, w = 256;
        SyntheticSae.WriteDump(tmp["codes"], Synthetic.HealthyTopK(rows, w, 8, 21), rows, w, kind: "codes");
        var (code, stdout, stderr) = CliHarness.Run(new[] { "analyze", "--dump", tmp["codes"], "--out", tmp["report"], "--json", "--sample-tokens", "600" }.Concat(extra).ToArray());
        Assert.True(code == 0, stderr);
        return (tmp, tmp["report"], stdout);
    }

    [Fact]
    public void AllSevenPlotsArePngsAt200DpiAndNotBlank()
    {
        var (tmp, report, _) = RunCli();
        using var cleanup = tmp;
        var files = Directory.GetFiles(Path.Combine(report, "activation_report")).Select(Path.GetFileName).OrderBy(f => f).ToArray();
        Assert.Equal(AnalysisPlots.FileNames, files);
        foreach (var f in AnalysisPlots.FileNames)
        {
            var bytes = File.ReadAllBytes(Path.Combine(report, "activation_report", f));
            Assert.True(PngMetadata.IsPng(bytes), f);
            var info = PngMetadata.Read(bytes);
            Assert.Equal(200, info.Dpi!.Value, 0);
            Assert.Equal((8 * 200, 5 * 200), (info.Width, info.Height));
            using var bmp = SKBitmap.Decode(bytes);
            Assert.Equal(1600, bmp.Width);
            var colours = new HashSet<uint>();
            for (int y = 0; y < bmp.Height; y += 7) for (int x = 0; x < bmp.Width; x += 7) colours.Add((uint)bmp.GetPixel(x, y));
            Assert.True(colours.Count > 20, $"{f} has only {colours.Count} colours");
            // dark background: the corner pixel is the figure colour
            var corner = bmp.GetPixel(2, 2);
            Assert.True(corner.Red < 40 && corner.Green < 40 && corner.Blue < 50, $"{f} corner {corner}");
        }
    }

    [Fact]
    public void TheFolderHoldsStatsDiagnosisAndASelfContainedPage()
    {
        var (tmp, report, stdout) = RunCli("--pca", "standardise");
        using var cleanup = tmp;
        using var summary = JsonDocument.Parse(stdout);
        Assert.Equal("sparse", summary.RootElement.GetProperty("verdict").GetString());

        using var diag = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "diagnosis.json")));
        var root = diag.RootElement;
        foreach (var key in new[] { "min", "median", "mean", "max", "p1", "p5", "p50", "p95", "p99" })
            Assert.True(root.GetProperty("value_stats").TryGetProperty(key, out _), key);
        Assert.Equal(new[] { 0, 1e-4, 1e-3, 1e-2, 0.1 }, root.GetProperty("eps_table").EnumerateArray().Select(e => e.GetProperty("eps").GetDouble()));
        Assert.All(root.GetProperty("eps_table").EnumerateArray(), e => { e.GetProperty("frac_above").GetDouble(); e.GetProperty("active_per_token").GetDouble(); });
        foreach (var key in new[] { "mean", "median", "p95", "p99" }) root.GetProperty("l0").GetProperty(key).GetDouble();
        Assert.Equal(8.0, root.GetProperty("l0").GetProperty("mean").GetDouble(), 9);
        root.GetProperty("dead_features").GetInt32(); root.GetProperty("always_on_050").GetInt32(); root.GetProperty("always_on_099").GetInt32();
        Assert.Equal("sparse", root.GetProperty("verdict").GetString());
        var hyps = root.GetProperty("hypotheses").EnumerateArray().ToList();
        Assert.Equal(new[] { "H1", "H2", "H3", "AXIS" }, hyps.Select(h => h.GetProperty("id").GetString()));
        Assert.All(hyps, h => { h.GetProperty("name").GetString(); Assert.False(h.GetProperty("supported").GetBoolean()); Assert.NotEmpty(h.GetProperty("evidence").GetString()!); });
        Assert.Equal("standardise", root.GetProperty("pca").GetProperty("mode").GetString());

        var html = File.ReadAllText(Path.Combine(report, "report.html"));
        Assert.Equal(7, Regex.Matches(html, "<img [^>]*src=\"data:image/png;base64,").Count);
        Assert.DoesNotMatch(new Regex("(src|href)=\"(https?:)?//", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("Content-Security-Policy", html);
        Assert.Contains("Verdict: sparse", html);
        Assert.Contains("Sparsity table", html);
        // the labels of the dump's documents colour the PCA
        var input = AnalysisInput.Open(tmp["codes"]);
        Assert.Equal("label", input.GroupKind);
        Assert.Equal("harmful", input.DocGroup(0));
        Assert.Equal("benign", input.DocGroup(1));
    }

    [Fact]
    public void FeatureStatsNpzHoldsTheDocumentedArrays()
    {
        var (tmp, report, _) = RunCli();
        using var cleanup = tmp;
        using var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(report, "feature_stats.npz"));
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var n in new[] { "fr", "max", "mean_active", "mean", "l0", "l0_row", "eps", "eps_frac", "eps_active_per_token" })
            Assert.Contains(n + ".npy", names);
        using var fr = new BinaryReader(zip.GetEntry("fr.npy")!.Open());
        var header = fr.ReadBytes(128);
        var text = System.Text.Encoding.ASCII.GetString(header);
        Assert.StartsWith("\u0093NUMPY\u0001\u0000", System.Text.Encoding.Latin1.GetString(header, 0, 8));
        Assert.Contains("{'descr': '<f8', 'fortran_order': False, 'shape': (256,), }", text);
        // the firing rates of a k = 8 TopK code sum to 8
        var rates = Enumerable.Range(0, 256).Select(_ => fr.ReadDouble()).ToArray();
        Assert.Equal(8.0, rates.Sum(), 9);
    }

    [Fact]
    public void TheHtmlHelperEscapesTextAndEmbedsImages()
    {
        var png = PlotStyle.RenderPng(PlotStyle.Create("t", "x", "y"), 2, 1);
        var page = new HtmlReport("A <b>title</b>", "sub & title")
            .Paragraph("<script>alert(1)</script>")
            .Table(new[] { "a", "b" }, new[] { (IReadOnlyList<string>)new[] { "1.5", "x<y" } }, "cap")
            .Image(png, "alt \"text\"", "caption")
            .KeyValues(new[] { ("key", "value") })
            .Render();
        Assert.Contains("<table><tbody><tr><td>key</td><td>value</td></tr></tbody></table>", page);
        Assert.Contains("A &lt;b&gt;title&lt;/b&gt;", page);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", page);
        Assert.DoesNotContain("<script>", page);
        Assert.Contains("<td class=\"num\">1.5</td>", page);
        Assert.Contains("x&lt;y", page);
        Assert.Contains("data:image/png;base64," + Convert.ToBase64String(png), page);
        Assert.Equal((400, 200), (PngMetadata.Read(png).Width, PngMetadata.Read(png).Height));
    }

    [Fact]
    public void SettingTheDpiKeepsTheImageAndWritesValidChunkCrcs()
    {
        var raw = PlotStyle.Create("crc", "x", "y").GetImage(300, 200).GetImageBytes(ScottPlot.ImageFormat.Png, 100);
        var withDpi = PngMetadata.WithDpi(raw, 200);
        Assert.Equal(200, PngMetadata.Read(withDpi).Dpi!.Value, 1);
        Assert.Equal((300, 200), (PngMetadata.Read(withDpi).Width, PngMetadata.Read(withDpi).Height));
        // our CRC agrees with the encoder's on every chunk it wrote, and the result still decodes
        Assert.True(PngMetadata.ChunkCrcsValid(raw));
        Assert.True(PngMetadata.ChunkCrcsValid(withDpi));
        using var a = SKBitmap.Decode(raw); using var b = SKBitmap.Decode(withDpi);
        Assert.Equal(a.Pixels, b.Pixels);
        // idempotent: setting it again replaces the chunk
        Assert.Equal(withDpi.Length, PngMetadata.WithDpi(withDpi, 200).Length);
    }
}
