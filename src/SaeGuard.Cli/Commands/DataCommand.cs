using System.CommandLine;
using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Data.Formats;
using SaeGuard.Data.Mixing;
using SaeGuard.Data.Viz;

namespace SaeGuard.Cli.Commands;

/// <summary><c>data mix|stats|viz</c>: build a corpus from a recipe, and tabulate or plot what is in a corpus.</summary>
static class DataCommand
{
    public static Command Create()
    {
        var cmd = new Command("data", "Datasets: mix public corpora by example or token share, tabulate and plot them.");
        cmd.Subcommands.Add(Mix());
        cmd.Subcommands.Add(Stats());
        cmd.Subcommands.Add(Viz());
        return cmd;
    }

    static Command Mix()
    {
        var recipe = CommonOptions.Required("--recipe", "Recipe (YAML or JSON): sources with shares, by, total, seed, dedup; see docs/DATA.md.");
        var output = CommonOptions.Required("--out", "Output folder (writes corpus.jsonl and mix.json) or a .jsonl file.");
        var seed = new Option<int?>("--seed") { Description = "Override the recipe's seed." };
        var total = new Option<long?>("--total") { Description = "Override the recipe's total (examples or tokens, as the recipe's 'by')." };
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var cmd = new Command("mix", "Mix sources into corpus.jsonl at target shares by examples or tokens, with dedup; prints the source table.")
        { recipe, output, seed, total, threads, json };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var r = MixRecipe.Load(p.GetValue(recipe)!);
            r = r with { Seed = p.GetValue(seed) ?? r.Seed, Total = p.GetValue(total) ?? r.Total };
            if (r.Total is <= 0) throw new UserError($"--total must be positive, got {r.Total}.");
            using var counter = CliModels.TokenCounter(r.Model, r.Tokenizer, r.MaxLength);
            var result = CorpusMixer.Mix(r, counter, p.GetValue(threads));
            var (corpusPath, summaryPath) = OutPaths(p.GetValue(output)!);
            var summary = new
            {
                corpus = Path.GetFullPath(corpusPath),
                by = r.By.ToString().ToLowerInvariant(),
                total_requested = r.Total,
                seed = r.Seed,
                dedup = r.Dedup.ToString().ToLowerInvariant(),
                model = counter.Model,
                examples = result.Table.TotalExamples,
                tokens = result.Table.TotalTokens,
                sources = result.Sources.Select(s =>
                {
                    var row = result.Table.Rows.FirstOrDefault(x => x.Source == s.Name);
                    return new
                    {
                        name = s.Name, target_pct = 100 * s.TargetShare, read = s.Read, duplicates = s.Duplicates,
                        available_tokens = s.AvailableTokens, examples = s.Taken, examples_pct = row?.ExamplesPct ?? 0,
                        tokens = s.TakenTokens, tokens_pct = row?.TokensPct ?? 0,
                    };
                }).ToList(),
            };
            CorpusFile.Write(corpusPath, result.Docs);
            if (summaryPath != null) AtomicFile.WriteAllText(summaryPath, JsonSerializer.Serialize(summary, JsonDefaults.Pretty) + "\n");
            foreach (var s in result.Sources.Where(s => s.Duplicates > 0))
                Console.Error.WriteLine($"data mix: dropped {s.Duplicates:N0} duplicate documents from '{s.Name}' ({r.Dedup.ToString().ToLowerInvariant()} dedup)");
            Console.Error.WriteLine($"data mix: wrote {result.Docs.Count:N0} documents, {result.Table.TotalTokens:N0} {counter.Model} tokens → {corpusPath}");
            if (p.GetValue(json)) CliRunner.PrintJson(summary);
            else Console.Out.Write(result.Table.Format());
            return 0;
        }));
        return cmd;
    }

    static (string Corpus, string? Summary) OutPaths(string output) =>
        output.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? (output, null)
            : (Path.Combine(output, "corpus.jsonl"), Path.Combine(output, "mix.json"));

    static Command Stats()
    {
        var inputs = new InputOptions();
        var tok = new TokenizerOptions(includeModel: true);
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var cmd = new Command("stats", "Print the source table (examples and tokens, count and %) and label counts for any inputs.") { threads, json };
        inputs.AddTo(cmd);
        tok.AddTo(cmd);
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var docs = inputs.Read(p);
            using var counter = tok.Open(p);
            var tokens = counter.CountAll(docs.Select(d => d.Text).ToList(), "count tokens", p.GetValue(threads));
            var table = new SourceTable(docs, tokens);
            if (p.GetValue(json))
                CliRunner.PrintJson(new { model = counter.Model, examples = table.TotalExamples, tokens = table.TotalTokens, sources = table.Rows });
            else
            {
                Console.Out.Write(table.Format());
                Console.Out.WriteLine();
                Console.Out.Write(table.FormatLabels());
            }
            return 0;
        }));
        return cmd;
    }

    static Command Viz()
    {
        var inputs = new InputOptions();
        var tok = new TokenizerOptions(includeModel: true);
        var output = CommonOptions.Required("--out", "Folder for the plots (PNG, dark, 200 DPI).");
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var cmd = new Command("viz", "Plot source shares (examples, tokens), token-length histograms per source, labels and categories.") { output, threads, json };
        inputs.AddTo(cmd);
        tok.AddTo(cmd);
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var docs = inputs.Read(p);
            using var counter = tok.Open(p);
            var tokens = counter.CountAll(docs.Select(d => d.Text).ToList(), "count tokens", p.GetValue(threads));
            var files = DataPlots.Render(docs, tokens, p.GetValue(output)!);
            Console.Error.WriteLine($"data viz: wrote {files.Count} plots → {p.GetValue(output)}");
            if (p.GetValue(json)) CliRunner.PrintJson(new { plots = files });
            else foreach (var f in files) Console.Out.WriteLine(f);
            return 0;
        }));
        return cmd;
    }

    /// <summary>--input files (or a --recipe's sources) with the reading options extract also takes.</summary>
    sealed class InputOptions
    {
        readonly Option<string[]> _input = new("--input") { Description = "Input file(s); each file is a source unless rows carry their own (corpus.jsonl).", AllowMultipleArgumentsPerToken = true };
        readonly Option<string?> _recipe = new("--recipe") { Description = "Use a mix recipe's sources (all their documents, before sampling) as the inputs." };
        readonly Option<string> _format = new("--format") { Description = DataFormats.KnownNames, DefaultValueFactory = _ => "auto" };
        readonly Option<string?> _turns = new("--turns") { Description = "sharegpt / hh-rlhf: first (default), all (each human turn) or conversation." };
        readonly Option<string?> _textCol = new("--text-column") { Description = "Column holding the text." };
        readonly Option<string?> _labelCol = new("--label-column") { Description = "Column holding harmful/benign." };
        readonly Option<string?> _catCol = new("--category-column") { Description = "Column holding the category." };
        readonly Option<string?> _label = new("--label") { Description = "Label every row: harmful or benign." };
        readonly Option<string?> _category = new("--category") { Description = "Category for every row." };
        readonly Option<int> _maxDocs = new("--max-docs") { Description = "Read at most this many documents per input (0 = all).", DefaultValueFactory = _ => 0 };

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { _input, _recipe, _format, _turns, _textCol, _labelCol, _catCol, _label, _category, _maxDocs }) cmd.Options.Add(o);
        }

        public List<DocRecord> Read(ParseResult p)
        {
            var files = p.GetValue(_input) ?? Array.Empty<string>();
            var recipe = p.GetValue(_recipe);
            if ((files.Length == 0) == (recipe == null)) throw new UserError("Give --input FILE… or --recipe RECIPE (one of the two).");
            if (recipe != null) return CorpusInputs.ReadRecipeSources(recipe, p.GetValue(_maxDocs));
            return CorpusInputs.Read(files, new CorpusInputOptions
            {
                Read = new CorpusReadOptions
                {
                    Format = p.GetValue(_format)!, Turns = p.GetValue(_turns),
                    TextColumn = p.GetValue(_textCol), LabelColumn = p.GetValue(_labelCol), CategoryColumn = p.GetValue(_catCol),
                    FixedLabel = p.GetValue(_label), FixedCategory = p.GetValue(_category),
                },
                MaxDocs = p.GetValue(_maxDocs),
            });
        }
    }

    /// <summary>--model / --tokenizer / --max-length: whose tokens are counted.</summary>
    sealed class TokenizerOptions(bool includeModel)
    {
        readonly Option<string> _model = new("--model") { Description = "Count tokens with this model's tokenizer: minilm (built in), PATH.onnx or PATH.gguf.", DefaultValueFactory = _ => "minilm" };
        readonly Option<string?> _tokenizer = new("--tokenizer") { Description = "vocab.txt or tokenizer.json for an ONNX model." };
        readonly Option<int> _maxLength = new("--max-length") { Description = "Count at most this many tokens per document (0 = no cap).", DefaultValueFactory = _ => 0 };

        public void AddTo(Command cmd)
        {
            if (!includeModel) return;
            cmd.Options.Add(_model); cmd.Options.Add(_tokenizer); cmd.Options.Add(_maxLength);
        }

        public TokenCounter Open(ParseResult p) => CliModels.TokenCounter(p.GetValue(_model)!, p.GetValue(_tokenizer), p.GetValue(_maxLength));
    }
}
