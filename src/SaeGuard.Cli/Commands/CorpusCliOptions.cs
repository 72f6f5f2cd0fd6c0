using System.CommandLine;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Models.ChatTemplates;

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
    public readonly Option<bool> CsvLenient = CommonOptions.CsvLenient();
    public readonly Option<string?> ChatTemplate = new("--chat-template") { Description = "auto | none | NAME: wrap every text as a user turn in a chat template (auto: the model's own; a bare --chat-template means auto). ONNX names: chatml, llama-3, llama-2, gemma, phi-3; GGUF names: llama.cpp's (chatml, llama3, gemma, mistral-v3, phi3, …). Template tokens are flagged is_template in the dump.", Arity = ArgumentArity.ZeroOrOne };

    public CorpusCliOptions(bool required, string? modelDefault)
    {
        Model = new Option<string>("--model") { Description = "minilm (built in), PATH.onnx or PATH.gguf." };
        if (modelDefault != null) Model.DefaultValueFactory = _ => modelDefault;
        Input = new Option<string[]>("--input") { Description = "Input file(s): CSV, JSONL, JSON list, TXT, Parquet, ShareGPT, hh-rlhf" + (required ? " (required unless --list-layers)." : "."), AllowMultipleArgumentsPerToken = true };
    }

    public IEnumerable<Option> All => new Option[] { Model, Layer, Input, Format, Turns, TextColumn, LabelColumn, CategoryColumn, Label, Category, MaxTokens, MaxDocs, Tokenizer, HookTensor, MaxLength, ChatTemplate, CsvLenient };

    public void AddTo(Command cmd) { foreach (var o in All) cmd.Options.Add(o); }

    /// <summary>The corpus (re-readable: every call reads the files afresh) and a key of how it is read.</summary>
    public (Func<IEnumerable<DocRecord>> Open, string[] Files, string Key) Corpus(ParseResult p)
    {
        var files = p.GetValue(Input) ?? Array.Empty<string>();
        var o = new CorpusInputOptions
        {
            Read = new CorpusReadOptions { Format = p.GetValue(Format)!, Turns = p.GetValue(Turns), LabelColumn = p.GetValue(LabelColumn), CategoryColumn = p.GetValue(CategoryColumn), CsvLenient = p.GetValue(CsvLenient) },
            TextColumns = p.GetValue(TextColumn) ?? Array.Empty<string>(),
            Labels = p.GetValue(Label) ?? Array.Empty<string>(),
            Categories = p.GetValue(Category) ?? Array.Empty<string>(),
            MaxDocs = p.GetValue(MaxDocs),
        };
        var reads = Enumerable.Range(0, files.Length).Select(i => CorpusInputs.ReadOptions(o, i, files.Length)).ToList();   // checks the per-input counts now
        var key = string.Join("\n", System.Text.Json.JsonSerializer.Serialize(reads), o.MaxDocs.ToString(), p.GetValue(MaxTokens).ToString(), TemplateName(p) ?? "none");
        return (() => CorpusInputs.Stream(files, o), files, key);
    }

    /// <summary>The --chat-template value as given (null: none asked; a bare switch means auto).</summary>
    public string? TemplateName(ParseResult p) => p.GetResult(ChatTemplate) == null ? null : p.GetValue(ChatTemplate) ?? "auto";

    bool IsGguf(ParseResult p) => (p.GetValue(Model) ?? "").EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);

    /// <summary>The ONNX template choice; GGUF template names are llama.cpp's and go to the GGUF source as they are.</summary>
    public ChatTemplateChoice Template(ParseResult p) =>
        TemplateName(p) is not { } name || IsGguf(p) ? ChatTemplateChoice.None : ChatTemplateChoice.Parse(name);

    public IActivationSource OpenSource(ParseResult p, int threads)
    {
        var name = TemplateName(p);
        bool gguf = IsGguf(p);
        var template = Template(p);
        return CliModels.Sources.Open(new ModelRequest(p.GetValue(Model)!, p.GetValue(Layer))
        {
            Tokenizer = p.GetValue(Tokenizer), Threads = threads, MaxLength = p.GetValue(MaxLength),
            HookTensor = p.GetValue(HookTensor), TemplateChoice = gguf ? null : template,
            Template = gguf ? name : template.IsNone ? null : "auto",
        });
    }
}
