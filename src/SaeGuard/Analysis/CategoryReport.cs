using SaeGuard.Reports;
using static SaeGuard.Analysis.Fmt;

namespace SaeGuard.Analysis;

/// <summary>The category section of the analysis report: per-category specificity tables (HTML and diagnosis.json).</summary>
public static class CategoryReport
{
    /// <summary>Appends the "Categories" section: a summary table, then one specificity table per category.</summary>
    public static void Html(HtmlReport page, CategoryAnalysis c, IReadOnlyList<string>? labels)
    {
        page.Heading("Categories", 2, "categories");
        page.Table(new[] { "category", "documents", "tokens", "most specific feature" },
            c.Categories.Select((k, q) => (IReadOnlyList<string>)new[]
            {
                k.Name, Int(k.Documents), Int(k.Tokens), c.Top[q].Count > 0 ? FeatureLabels.Name(c.Top[q][0].Feature, labels, 40) : "—",
            }),
            $"Documents that carry a category. Specificity of a feature for a category: the log-odds ratio of firing on the category's documents vs all other categorised documents, with {N(c.Prior)} added to each cell, and its 95% interval; tables are ranked by the interval's lower end.");
        for (int q = 0; q < c.Categories.Count; q++)
        {
            var k = c.Categories[q];
            page.Heading($"{k.Name} ({Int(k.Documents)} documents)", 3);
            if (c.Top[q].Count == 0) { page.Paragraph("No feature fired on these documents."); continue; }
            page.Table(new[] { "feature", "fires on (docs)", "rate in category", "rate elsewhere", "log-odds", "95% CI" },
                c.Top[q].Select(f => (IReadOnlyList<string>)new[]
                {
                    FeatureLabels.Name(f.Feature, labels, 40), $"{Int(f.FiredDocuments)} / {Int(k.Documents)}", Pct(f.Score.RateIn), Pct(f.Score.RateOut),
                    N(f.Score.LogOdds), $"[{N(f.Score.Lower)}, {N(f.Score.Upper)}]",
                }));
        }
    }

    /// <summary>diagnosis.json's "categories" block.</summary>
    public static object Json(CategoryAnalysis c, IReadOnlyList<string>? labels) => new Dictionary<string, object?>
    {
        ["unit"] = "document",
        ["prior"] = c.Prior,
        ["score"] = "ln((a+α)/(n−a+α)) − ln((b+α)/(N−b+α)); 95% Wald CI; ranked by the lower bound",
        ["categories"] = c.Categories.Select((k, q) => new Dictionary<string, object?>
        {
            ["name"] = k.Name, ["documents"] = k.Documents, ["tokens"] = k.Tokens,
            ["top_features"] = c.Top[q].Select(f => new Dictionary<string, object?>
            {
                ["feature"] = f.Feature, ["label"] = labels != null && f.Feature < labels.Count ? labels[f.Feature] : null,
                ["fired_documents"] = f.FiredDocuments, ["rate_in"] = f.Score.RateIn, ["rate_out"] = f.Score.RateOut,
                ["log_odds"] = f.Score.LogOdds, ["ci_low"] = f.Score.Lower, ["ci_high"] = f.Score.Upper,
            }).ToList(),
        }).ToList(),
    };
}
