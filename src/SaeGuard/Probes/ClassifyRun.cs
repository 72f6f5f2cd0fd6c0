using System.Globalization;
using System.Text;
using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.Data;

namespace SaeGuard.Probes;

/// <summary>The <c>classify</c> stage: score documents in batches (progress on stderr) and write CSV or JSONL.</summary>
public static class ClassifyRun
{
    public static ClassifySummary Run(GuardClassifier guard, IReadOnlyList<DocRecord> docs, ScoreOptions options, int batch = 64) =>
        Run(texts => guard.Score(texts, options), docs, batch);

    /// <summary>The same with the built-in span guard (<see cref="SpanGuard"/>): one scorer, so no --use/--tokens.</summary>
    public static ClassifySummary Run(SpanGuard guard, IReadOnlyList<DocRecord> docs, ScoreOptions options, int batch = 64)
    {
        if (options.Probe != null || options.IncludeTokens)
            throw new UserError("--use and --tokens need --probe (the built-in guard has one scorer).");
        return Run(texts => guard.Score(texts, options.TopFeatures).Select(r =>
        {
            var g = SpanGuard.ToGuardResult(r);
            return options.Threshold is double t ? g with { Threshold = t, Label = Labels.ForScore(g.Score, t) } : g;
        }).ToList(), docs, batch);
    }

    static ClassifySummary Run(Func<IReadOnlyList<string>, IReadOnlyList<GuardResult>> score, IReadOnlyList<DocRecord> docs, int batch)
    {
        if (batch < 1) throw new UserError("--batch must be at least 1.");
        var results = new List<GuardResult>(docs.Count);
        using (var bar = new ProgressBar("classify", docs.Count, "texts"))
            for (int i = 0; i < docs.Count; i += batch)
            {
                var chunk = docs.Skip(i).Take(batch).Select(d => d.Text).ToList();
                results.AddRange(score(chunk));
                bar.Advance(chunk.Count);
            }
        return new ClassifySummary(results, results.Count(r => r.Label == Labels.Harmful), ClassifyMetrics.Of(results, docs.Select(d => d.Label).ToList()));
    }

    /// <summary>True for a .jsonl/.ndjson path, false for .csv; anything else is a user error.</summary>
    public static bool IsJsonl(string path)
    {
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase)) return true;
        if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) return false;
        throw new UserError($"--out must end in .csv or .jsonl, got '{path}'.");
    }

    /// <summary>text,score,label,top_features (id:contribution:label, '|'-separated).</summary>
    public static string Csv(IReadOnlyList<GuardResult> results)
    {
        var sb = new StringBuilder("text,score,label,top_features\n");
        foreach (var r in results)
            sb.Append(Quote(r.Text)).Append(',').Append(r.Score.ToString("R", CultureInfo.InvariantCulture)).Append(',')
              .Append(r.Label).Append(',').Append(Quote(TopFeatures(r))).Append('\n');
        return sb.ToString();
    }

    /// <summary>One JSON object per result; <paramref name="trueLabels"/> (per result) becomes "true_label".</summary>
    public static string Jsonl(IReadOnlyList<GuardResult> results, IReadOnlyList<string?> trueLabels)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            sb.Append(JsonSerializer.Serialize(new
            {
                text = r.Text, score = r.Score, label = r.Label, threshold = r.Threshold, probe = r.Probe,
                top_features = r.TopFeatures.Select(f => new { id = f.Id, contribution = f.Contribution, activation = f.Activation, label = f.Label, token = f.Token }),
                negative_features = r.NegativeFeatures.Select(f => new { id = f.Id, contribution = f.Contribution, activation = f.Activation, label = f.Label, token = f.Token }),
                offset = r.Offset, span = r.Span,
                sae_residual = r.Residual,
                true_label = trueLabels[i],
                tokens = r.Tokens?.Select(t => new { token = t.Token, activations = t.Activations }),
            }, JsonDefaults.Line)).Append('\n');
        }
        return sb.ToString();
    }

    static string TopFeatures(GuardResult r) => string.Join(" | ", r.TopFeatures.Select(f =>
        $"{f.Id}:{f.Contribution.ToString("+0.###;-0.###", CultureInfo.InvariantCulture)}:{f.Label}{(f.Token is { } t ? $" @{t}" : "")}"));

    static string Quote(string s) => s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}
