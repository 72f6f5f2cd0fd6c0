using System.CommandLine;
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
        var force = CommonOptions.Force(); var csvLenient = CommonOptions.CsvLenient();
        var cmd = new Command("classify", "Score texts as harmful or benign with a saved probe, with the SAE features that drove each score.")
        { probe, text, input, textCol, labelCol, format, output, use, threshold, top, batch, tokens, model, json, force, csvLenient };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var texts = p.GetValue(text) ?? Array.Empty<string>();
            var file = p.GetValue(input);
            if (texts.Length == 0 && file == null) throw new UserError("classify needs --text \"…\" or --input FILE.");
            if (texts.Length > 0 && file != null) throw new UserError("Give either --text or --input, not both.");
            var outPath = p.GetValue(output);
            bool jsonl = outPath != null && ClassifyRun.IsJsonl(outPath);
            if (outPath != null) OutputPolicy.File(outPath, p.GetValue(force), file, p.GetValue(probe), p.GetValue(model));
            var docs = file != null
                ? CorpusReader.Read(file, new CorpusReadOptions { Format = p.GetValue(format)!, TextColumn = p.GetValue(textCol), LabelColumn = p.GetValue(labelCol), CsvLenient = p.GetValue(csvLenient) }).ToList()
                : texts.Select(t => new DocRecord { Text = t }).ToList();
            var opts = new ScoreOptions { Probe = p.GetValue(use), Threshold = p.GetValue(threshold), TopFeatures = p.GetValue(top), IncludeTokens = jsonl && p.GetValue(tokens) };
            ClassifySummary run;
            if (p.GetValue(probe) is string dir)
            {
                using var guard = GuardClassifier.Load(dir, new GuardLoadOptions { Model = p.GetValue(model), Models = CliModels.Sources });
                run = ClassifyRun.Run(guard, docs, opts, p.GetValue(batch));
            }
            else
            {
                if (p.GetValue(model) != null || opts.Probe != null || opts.IncludeTokens)
                    throw new UserError("--use, --model and --tokens need --probe (the built-in guard has one scorer on the built-in model).");
                using var guard = SpanGuard.LoadDefault();
                run = ClassifyRun.Run(guard, docs, opts, p.GetValue(batch));
            }
            if (outPath != null) AtomicFile.WriteAllText(outPath, jsonl ? ClassifyRun.Jsonl(run.Results, docs.Select(d => d.Label).ToList()) : ClassifyRun.Csv(run.Results));
            else if (!p.GetValue(json)) Console.Out.Write(ClassifyRun.Csv(run.Results));
            if (run.Metrics is { } metrics)
                Console.Error.WriteLine($"classify: labelled rows {JsonSerializer.Serialize(metrics, JsonDefaults.Line)}");
            Console.Error.WriteLine($"classify: {run.Results.Count} texts, {run.Flagged} flagged harmful by the {run.Probe} probe at threshold {run.Threshold:G4}" + (outPath != null ? $" → {outPath}" : ""));
            if (p.GetValue(json))
                CliRunner.PrintJson(new { n = run.Results.Count, flagged = run.Flagged, probe = run.Probe, threshold = run.Threshold, @out = outPath, metrics = run.Metrics, results = outPath == null ? run.Results : null });
            return 0;
        }));
        return cmd;
    }
}
