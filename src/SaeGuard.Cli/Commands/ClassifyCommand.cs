using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Probes;

namespace SaeGuard.Cli.Commands;

static class ClassifyCommand
{
    public static Command Create()
    {
        var probe = new Option<string?>("--probe") { Description = "Probe folder written by 'saeguard probe' (default: the built-in guard, docs/GUARD.md)." };
        var text = new Option<string[]>("--text") { Description = "Text(s) to score.", AllowMultipleArgumentsPerToken = false };
        var input = new Option<string?>("--input") { Description = "CSV/JSONL/JSON/TXT file of texts to score." };
        var textCol = new Option<string?>("--text-column") { Description = "Column holding the text." };
        var labelCol = new Option<string?>("--label-column") { Description = "Optional label column: then metrics are printed too." };
        var format = new Option<string>("--format") { Description = "auto|csv|jsonl|json|txt (and formats the data module adds).", DefaultValueFactory = _ => "auto" };
        var output = new Option<string?>("--out") { Description = "Write results to FILE.csv (text,score,label,top_features) or FILE.jsonl; default: CSV on stdout." };
        var use = new Option<string?>("--use") { Description = "Probe to score with: hybrid|sae|sae_topk|dense (default: the folder's decision)." };
        var threshold = new Option<double?>("--threshold") { Description = "Harmful when score ≥ this (default: the stored threshold, 95% TPR on training folds)." };
        var top = new Option<int>("--top") { Description = "Contributing features listed per text.", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Texts per batch.", DefaultValueFactory = _ => 64 };
        var tokens = new Option<bool>("--tokens") { Description = "JSONL only: add each token's activations of the top features." };
        var model = new Option<string?>("--model") { Description = "Model file, when it is no longer where probe.json says." };
        var json = CommonOptions.Json();
        var cmd = new Command("classify", "Score texts as harmful or benign with a saved probe, with the SAE features that drove each score.")
        { probe, text, input, textCol, labelCol, format, output, use, threshold, top, batch, tokens, model, json };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var texts = p.GetValue(text) ?? Array.Empty<string>();
            var file = p.GetValue(input);
            if (texts.Length == 0 && file == null) throw new UserError("classify needs --text \"…\" or --input FILE.");
            if (texts.Length > 0 && file != null) throw new UserError("Give either --text or --input, not both.");
            var outPath = p.GetValue(output);
            bool jsonl = outPath != null && (outPath.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || outPath.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase));
            if (outPath != null && !jsonl && !outPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                throw new UserError($"--out must end in .csv or .jsonl, got '{outPath}'.");
            if (p.GetValue(batch) < 1) throw new UserError("--batch must be at least 1.");
            var docs = file != null
                ? CorpusReader.Read(file, new CorpusReadOptions { Format = p.GetValue(format)!, TextColumn = p.GetValue(textCol), LabelColumn = p.GetValue(labelCol) }).ToList()
                : texts.Select(t => new DocRecord { Text = t }).ToList();
            var opts = new ScoreOptions { Probe = p.GetValue(use), Threshold = p.GetValue(threshold), TopFeatures = p.GetValue(top), IncludeTokens = jsonl && p.GetValue(tokens) };
            using var scorer = DefaultOrProbe(p.GetValue(probe), p.GetValue(model), opts);
            var results = new List<GuardResult>(docs.Count);
            using (var bar = new ProgressBar("classify", docs.Count, "texts"))
                for (int i = 0; i < docs.Count; i += p.GetValue(batch))
                {
                    var chunk = docs.Skip(i).Take(p.GetValue(batch)).Select(d => d.Text).ToList();
                    results.AddRange(scorer.Score(chunk));
                    bar.Advance(chunk.Count);
                }
            if (outPath != null) AtomicFile.WriteAllText(outPath, jsonl ? Jsonl(results, docs) : Csv(results));
            else if (!p.GetValue(json)) Console.Out.Write(Csv(results));

            int flagged = results.Count(r => r.Label == Labels.Harmful);
            var labelled = Enumerable.Range(0, docs.Count).Where(i => docs[i].Label != null).ToArray();
            object? metrics = null;
            if (labelled.Length > 0)
            {
                var s = labelled.Select(i => results[i].Score).ToArray();
                var l = labelled.Select(i => Labels.ToInt(docs[i].Label)).ToArray();
                double t = results[0].Threshold;
                bool both = l.Contains(1) && l.Contains(0);
                metrics = new
                {
                    n = l.Length,
                    auroc = both ? BinaryMetrics.Auroc(s, l) : (double?)null,
                    accuracy = BinaryMetrics.Accuracy(s, l, t),
                    recall = l.Contains(1) ? BinaryMetrics.FlagRate(s.Where((_, k) => l[k] == 1).ToArray(), t) : (double?)null,
                    fpr = l.Contains(0) ? BinaryMetrics.FlagRate(s.Where((_, k) => l[k] == 0).ToArray(), t) : (double?)null,
                };
                Console.Error.WriteLine($"classify: labelled rows {JsonSerializer.Serialize(metrics, JsonDefaults.Line)}");
            }
            Console.Error.WriteLine($"classify: {results.Count} texts, {flagged} flagged harmful by the {results[0].Probe} probe at threshold {results[0].Threshold:G4}" + (outPath != null ? $" → {outPath}" : ""));
            if (p.GetValue(json))
                CliRunner.PrintJson(new { n = results.Count, flagged, probe = results[0].Probe, threshold = results[0].Threshold, @out = outPath, metrics, results = outPath == null ? results : null });
            return 0;
        }));
        return cmd;
    }

    /// <summary>The probe folder's classifier, or the built-in span guard when no folder is given.</summary>
    sealed class Scorer(Func<IReadOnlyList<string>, IReadOnlyList<GuardResult>> score, IDisposable owner) : IDisposable
    {
        public IReadOnlyList<GuardResult> Score(IReadOnlyList<string> texts) => score(texts);
        public void Dispose() => owner.Dispose();
    }

    static Scorer DefaultOrProbe(string? probeDir, string? model, ScoreOptions opts)
    {
        if (probeDir != null)
        {
            var g = GuardClassifier.Load(probeDir, new GuardLoadOptions { Model = model, Models = CliModels.Sources });
            return new Scorer(t => g.Score(t, opts), g);
        }
        if (opts.Probe != null || model != null || opts.IncludeTokens) throw new UserError("--use, --model and --tokens need --probe (the built-in guard has one scorer on the built-in model).");
        var s = SpanGuard.LoadDefault();
        return new Scorer(t => s.Score(t, opts.TopFeatures).Select(r =>
        {
            var g = SpanGuard.ToGuardResult(r);
            return opts.Threshold is double th ? g with { Threshold = th, Label = Labels.ForScore(g.Score, th) } : g;
        }).ToList(), s);
    }

    static string TopFeatures(GuardResult r) => string.Join(" | ", r.TopFeatures.Select(f =>
        $"{f.Id}:{f.Contribution.ToString("+0.###;-0.###", CultureInfo.InvariantCulture)}:{f.Label}"));

    static string Csv(IReadOnlyList<GuardResult> results)
    {
        var sb = new StringBuilder("text,score,label,top_features\n");
        foreach (var r in results)
            sb.Append(Quote(r.Text)).Append(',').Append(r.Score.ToString("R", CultureInfo.InvariantCulture)).Append(',')
              .Append(r.Label).Append(',').Append(Quote(TopFeatures(r))).Append('\n');
        return sb.ToString();
    }

    static string Quote(string s) => s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    static string Jsonl(IReadOnlyList<GuardResult> results, IReadOnlyList<DocRecord> docs)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            sb.Append(JsonSerializer.Serialize(new
            {
                text = r.Text, score = r.Score, label = r.Label, threshold = r.Threshold, probe = r.Probe,
                top_features = r.TopFeatures.Select(f => new { id = f.Id, contribution = f.Contribution, activation = f.Activation, label = f.Label, token = f.Token }),
                negative_features = r.NegativeFeatures.Count == 0 ? null : r.NegativeFeatures.Select(f => new { id = f.Id, contribution = f.Contribution, activation = f.Activation, label = f.Label, token = f.Token }),
                offset = r.Offset, span = r.Span,
                sae_residual = r.Residual,
                true_label = docs[i].Label,
                tokens = r.Tokens?.Select(t => new { token = t.Token, activations = t.Activations }),
            }, JsonDefaults.Line)).Append('\n');
        }
        return sb.ToString();
    }
}
