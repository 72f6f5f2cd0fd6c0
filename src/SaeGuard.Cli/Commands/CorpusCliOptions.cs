using System.CommandLine;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Models;

namespace SaeGuard.Cli.Commands;

/// <summary>The model and corpus options shared by <c>extract</c> and <c>train --model --input</c>.</summary>
sealed class CorpusCliOptions
{
    public readonly Option<string> Model;
    public readonly Option<int> Layer = new("--layer") { Description = "Layer whose output (residual stream) is captured.", DefaultValueFactory = _ => BuiltInModels.MiniLmDefaultLayer };
    public readonly Option<string[]> Input;
    public readonly Option<string> Format = new("--format") { Description = SaeGuard.Data.Formats.DataFormats.KnownNames, DefaultValueFactory = _ => "auto" };
    public readonly Option<string?> Turns = new("--turns") { Description = "sharegpt / hh-rlhf: first (default), all (each human turn) or conversation." };
    public readonly Option<string[]> TextColumn = new("--text-column") { Description = "Column holding the text (once for all inputs, or once per --input in order)." };
    public readonly Option<string?> LabelColumn = new("--label-column") { Description = "Column holding harmful/benign (1/0, true/false, unsafe/safe)." };
    public readonly Option<string?> CategoryColumn = new("--category-column") { Description = "Column holding the harm category." };
    public readonly Option<string[]> Label = new("--label") { Description = "Label for every row: harmful or benign (once for all inputs, or once per --input in order, e.g. --input advbench.csv --label harmful --input alpaca.json --label benign)." };
    public readonly Option<string[]> Category = new("--category") { Description = "Category for every row (once, or once per --input)." };
    public readonly Option<long> MaxTokens = new("--max-tokens") { Description = "Stop after this many tokens (0 = all).", DefaultValueFactory = _ => 0 };
    public readonly Option<int> MaxDocs = new("--max-docs") { Description = "Read at most this many documents per input (0 = all).", DefaultValueFactory = _ => 0 };
    public readonly Option<string?> Tokenizer = new("--tokenizer") { Description = "vocab.txt or tokenizer.json for an ONNX model." };
    public readonly Option<string?> HookTensor = new("--hook-tensor") { Description = "Capture this ONNX graph tensor instead of a layer output." };
    public readonly Option<int?> MaxLength = new("--max-length") { Description = "Truncate documents to this many tokens (default: the model's)." };
    public readonly Option<bool> ChatTemplate = GgufCliOptions.ChatTemplate();

    public CorpusCliOptions(bool required, string? modelDefault)
    {
        Model = new Option<string>("--model") { Description = "minilm (built in), PATH.onnx or PATH.gguf." };
        if (modelDefault != null) Model.DefaultValueFactory = _ => modelDefault;
        Input = new Option<string[]>("--input") { Description = "Input file(s): CSV, JSONL, JSON list, TXT, Parquet, ShareGPT, hh-rlhf.", Required = required, AllowMultipleArgumentsPerToken = true };
    }

    public IEnumerable<Option> All => new Option[] { Model, Layer, Input, Format, Turns, TextColumn, LabelColumn, CategoryColumn, Label, Category, MaxTokens, MaxDocs, Tokenizer, HookTensor, MaxLength, ChatTemplate };

    public void AddTo(Command cmd) { foreach (var o in All) cmd.Options.Add(o); }

    /// <summary>The corpus (re-readable: every call reads the files afresh) and a key of how it is read.</summary>
    public (Func<IEnumerable<DocRecord>> Open, string[] Files, string Key) Corpus(ParseResult p)
    {
        var files = p.GetValue(Input) ?? Array.Empty<string>();
        string? PerInput(Option<string[]> o, int i)
        {
            var v = p.GetValue(o) ?? Array.Empty<string>();
            if (v.Length == 0) return null;
            if (v.Length == 1) return v[0];
            if (v.Length != files.Length)
                throw new UserError($"{o.Name} was given {v.Length} times for {files.Length} inputs: give it once (all inputs) or once per --input.");
            return v[i];
        }
        var readOpts = files.Select((_, fi) => new CorpusReadOptions
        {
            Format = p.GetValue(Format)!, Turns = p.GetValue(Turns),
            TextColumn = PerInput(TextColumn, fi), LabelColumn = p.GetValue(LabelColumn), CategoryColumn = p.GetValue(CategoryColumn),
            FixedLabel = PerInput(Label, fi), FixedCategory = PerInput(Category, fi),
        }).ToArray();
        int cap = p.GetValue(MaxDocs);
        IEnumerable<DocRecord> Open()
        {
            for (int fi = 0; fi < files.Length; fi++)
            {
                var rows = CorpusReader.Read(files[fi], readOpts[fi]);
                foreach (var d in cap > 0 ? rows.Take(cap) : rows) yield return d;
            }
        }
        var key = string.Join("\n", System.Text.Json.JsonSerializer.Serialize(readOpts), cap.ToString(), p.GetValue(MaxTokens).ToString(), p.GetValue(ChatTemplate).ToString());
        return (Open, files, key);
    }

    public IActivationSource OpenSource(ParseResult p, int threads) =>
        GgufCliOptions.Open(p.GetValue(Model)!, p.GetValue(Layer), p.GetValue(Tokenizer), threads, p.GetValue(MaxLength), p.GetValue(HookTensor), p.GetValue(ChatTemplate));
}
