using System.Text.Json.Nodes;
using SaeGuard.Activations;
using SaeGuard.Analysis;
using SaeGuard.Data;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Analysis;

/// <summary>
/// Category analysis in <c>analyze</c>: the specificity formula against hand-computed numbers, and a
/// planted codes dump (one feature fires only on one category's documents) whose tables, plots and
/// labels are checked against counts recomputed here from the planted rows.
/// </summary>
public class CategoryAnalysisTests
{
    [Fact]
    public void Specificity_matches_the_hand_computed_log_odds_and_interval()
    {
        // a = 10 of n = 20 inside, b = 5 of N = 80 outside, α = 2 spread as independence predicts:
        // p̂ = 15.5/101, s = 0.2 → A = 10.0613861…, B = 10.3386138…, C = 5.2455445…, D = 76.3544554…
        // LOR = ln(A·D/(B·C)) = 2.6508264636…, SE = √(1/A + 1/B + 1/C + 1/D)
        var s = CategorySpecificity.Score(10, 20, 5, 80);
        Assert.Equal(2.6508264636893517, s.LogOdds, 12);
        Assert.Equal(1.4114697141756507, s.Lower, 12);
        Assert.Equal(3.890183213203053, s.Upper, 12);
        Assert.Equal(0.5, s.RateIn);
        Assert.Equal(0.0625, s.RateOut);
        // the same rate inside and outside → 0 (the prior shifts both cells alike only at rate ½); swapping sides negates
        Assert.Equal(0, CategorySpecificity.Score(10, 20, 30, 60).LogOdds, 12); // half inside, half outside
        Assert.Equal(-s.LogOdds, CategorySpecificity.Score(5, 80, 10, 20).LogOdds, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => CategorySpecificity.Score(21, 20, 0, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => CategorySpecificity.Score(1, 20, 0, 5, prior: 0));
        // a feature that never fires is "no more likely here than elsewhere", even in a small category
        Assert.Equal(0, CategorySpecificity.Score(0, 20, 0, 80).LogOdds, 12);
    }

    static readonly string[] Cats = { "cybercrime", "fraud", "hate", "self-harm", "violence", "weapons" };
    const int Width = 40, DocsPerCategory = 12, TokensPerDoc = 6, Planted = 7, PlantedToken = 42, Target = 4; // violence

    /// <summary>
    /// Codes: feature 7 fires (on token 42) on one or two tokens of every "violence" document only;
    /// features 10…39 fire at random on any token (p = 0.08); features 0…9 other than 7 never fire.
    /// Returns the rows and each row's document.
    /// </summary>
    static (float[] Rows, int[] Doc, int[] Tok) WritePlanted(string dir, int seed)
    {
        var rng = new Random(seed);
        int docs = Cats.Length * DocsPerCategory, rows = docs * TokensPerDoc;
        var x = new float[rows * Width];
        var docOf = new int[rows]; var tok = new int[rows];
        using var w = new DumpWriter(dir, new DumpMeta { Kind = "codes", Model = "toy", Hook = "resid_post" }, Width, f16: false);
        for (int d = 0, r = 0; d < docs; d++)
        {
            string cat = Cats[d % Cats.Length];
            w.AddDoc(new DocRecord { Id = d, Text = $"doc {d}", Category = cat, Label = cat == "self-harm" ? "benign" : "harmful", Source = "toy" });
            int r0 = r;
            int fires = 1 + rng.Next(2);
            for (int t = 0; t < TokensPerDoc; t++, r++)
            {
                docOf[r] = d;
                tok[r] = rng.Next(40);
                var row = x.AsSpan(r * Width, Width);
                for (int j = 10; j < Width; j++) if (rng.NextDouble() < 0.08) row[j] = (float)(0.1 + rng.NextDouble());
                if (cat == Cats[Target] && t < fires) { row[Planted] = 5f + t; tok[r] = PlantedToken; }
            }
            w.AddRows(d, x.AsSpan(r0 * Width, TokensPerDoc * Width), tok.AsSpan(r0, TokensPerDoc), new bool[TokensPerDoc]);
        }
        w.Complete(i => $"tok{i}", 64);
        return (x, docOf, tok);
    }

    [Fact]
    public void A_feature_planted_on_one_category_ranks_first_there_and_is_absent_elsewhere_with_the_recomputed_numbers()
    {
        using var tmp = new TempDir();
        var (x, docOf, _) = WritePlanted(tmp["codes"], 3);
        var input = AnalysisInput.Open(tmp["codes"]);
        var r = AnalysisRunner.Run(input, new AnalysisOptions { SampleTokens = 200, Seed = 1, Threads = 1 }, PcaMode.Centre);
        var c = r.Categories!;
        Assert.Equal(Cats, c.Categories.Select(k => k.Name).ToArray());
        Assert.All(c.Categories, k => Assert.Equal(DocsPerCategory, k.Documents));
        Assert.All(c.Categories, k => Assert.Equal(DocsPerCategory * TokensPerDoc, k.Tokens));

        // the planted feature: first for its category, never fired elsewhere (rate 0, negative log-odds, not listed)
        Assert.Equal(Planted, c.Top[Target][0].Feature);
        Assert.Equal(1.0, c.Top[Target][0].Score.RateIn);
        Assert.Equal(0.0, c.Top[Target][0].Score.RateOut);
        for (int q = 0; q < Cats.Length; q++)
        {
            if (q == Target) continue;
            Assert.Equal(0.0, c.Rate(q, Planted));
            Assert.True(c.Score(q, Planted).LogOdds < -1, $"{Cats[q]}: planted feature scores {c.Score(q, Planted).LogOdds}");
            Assert.DoesNotContain(c.Top[q], f => f.Feature == Planted);
            // the random features are not specific anywhere: their intervals cover 0 or sit far below the planted one's
            Assert.True(c.Top[q].Count == 0 || c.Top[q][0].Score.Lower < c.Top[Target][0].Score.Lower);
        }

        // every table row recomputed from the planted rows: document counts, then the formula in float64
        int docs = Cats.Length * DocsPerCategory;
        for (int q = 0; q < Cats.Length; q++)
            foreach (var f in c.Top[q])
            {
                var firedDocs = Enumerable.Range(0, docs).Where(d => Enumerable.Range(0, docOf.Length).Any(row => docOf[row] == d && x[row * Width + f.Feature] > 0)).ToList();
                long a = firedDocs.Count(d => d % Cats.Length == q), b = firedDocs.Count - a;
                long n = DocsPerCategory, nOut = docs - DocsPerCategory;
                Assert.Equal(a, f.FiredDocuments);
                double t = n + nOut, p = (a + b + 0.5) / (t + 1), sh = n / t;
                double ca = a + 2 * p * sh, cb = n - a + 2 * (1 - p) * sh, cc = b + 2 * p * (1 - sh), cd = nOut - b + 2 * (1 - p) * (1 - sh);
                double lor = Math.Log(ca * cd / (cb * cc));
                double se = Math.Sqrt(1 / ca + 1 / cb + 1 / cc + 1 / cd);
                Assert.Equal(lor, f.Score.LogOdds, 12);
                Assert.Equal(lor - 1.959963984540054 * se, f.Score.Lower, 12);
                Assert.Equal(lor + 1.959963984540054 * se, f.Score.Upper, 12);
                Assert.Equal((double)a / n, f.Score.RateIn, 12);
                Assert.Equal((double)b / nOut, f.Score.RateOut, 12);
            }
        // ranked by the lower bound, best first
        foreach (var t in c.Top) for (int i = 1; i < t.Count; i++) Assert.True(t[i - 1].Score.Lower >= t[i].Score.Lower);

        // labels from top tokens: the planted feature only ever fires on token 42
        Assert.Equal("tok42", r.Labels![Planted]);
        Assert.Equal("", r.Labels[0]);
    }

    [Fact]
    public void The_report_holds_the_category_tables_plots_and_labelled_feature_ids()
    {
        using var tmp = new TempDir();
        WritePlanted(tmp["codes"], 5);
        var (code, _, err) = CliHarness.Run("analyze", "--dump", tmp["codes"], "--out", tmp["rep"]);
        Assert.True(code == 0, err);
        var plots = Path.Combine(tmp["rep"], AnalysisReport.PlotDir);
        // kept under the test output for a look at the plots
        var keep = Path.Combine(AppContext.BaseDirectory, "test-output", "category-report");
        Directory.CreateDirectory(keep);
        foreach (var f in Directory.GetFiles(plots)) File.Copy(f, Path.Combine(keep, Path.GetFileName(f)), true);
        foreach (var f in new[] { CategoryPlots.PcaFile, CategoryPlots.HeatmapFile })
        {
            var png = File.ReadAllBytes(Path.Combine(plots, f));
            Assert.Equal(0x89, png[0]);
            int width = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
            Assert.Equal(1600, width); // 8 inches at 200 DPI
        }
        var diag = JsonNode.Parse(File.ReadAllText(Path.Combine(tmp["rep"], AnalysisReport.DiagnosisFile)))!;
        var cats = diag["categories"]!["categories"]!.AsArray();
        Assert.Equal(Cats.Length, cats.Count);
        var violence = cats.Single(k => (string?)k!["name"] == Cats[Target])!;
        Assert.Equal(Planted, (int)violence["top_features"]![0]!["feature"]!);
        Assert.Equal("tok42", (string?)violence["top_features"]![0]!["label"]);
        var html = File.ReadAllText(Path.Combine(tmp["rep"], AnalysisReport.HtmlFile));
        Assert.Contains("Categories", html);
        Assert.Contains($"#{Planted} (tok42)", html);
    }

    [Fact]
    public void Documents_without_categories_give_no_category_section_and_the_seven_plots()
    {
        using var tmp = new TempDir();
        SyntheticSae.WriteDump(tmp["codes"], Synthetic.HealthyTopK(60, 32, 2, 1), 60, 32, kind: "codes");
        var r = AnalysisRunner.Run(AnalysisInput.Open(tmp["codes"]), new AnalysisOptions { SampleTokens = 50, Threads = 1 }, PcaMode.Centre);
        Assert.Null(r.Categories);
        AnalysisReport.Write(tmp["rep"], r);
        Assert.Equal(AnalysisPlots.FileNames.Length, Directory.GetFiles(Path.Combine(tmp["rep"], AnalysisReport.PlotDir)).Length);
    }
}
