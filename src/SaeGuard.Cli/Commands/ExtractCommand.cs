using System.CommandLine;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Models.ChatTemplates;

namespace SaeGuard.Cli.Commands;

static class ExtractCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "minilm (built in), PATH.onnx or PATH.gguf.", DefaultValueFactory = _ => "minilm" };
        var layer = new Option<int>("--layer") { Description = "Layer whose output (residual stream) is captured.", DefaultValueFactory = _ => BuiltInModels.MiniLmDefaultLayer };
        var input = new Option<string[]>("--input") { Description = "Input file(s): CSV, JSONL, JSON list, TXT, Parquet, ShareGPT, hh-rlhf (required unless --list-layers).", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--out") { Description = "Output dump folder (required unless --list-layers)." };
        var listLayers = new Option<bool>("--list-layers") { Description = "ONNX models: print the layer range and the graph tensor captured for each layer, then exit." };
        var format = new Option<string>("--format") { Description = SaeGuard.Data.Formats.DataFormats.KnownNames, DefaultValueFactory = _ => "auto" };
        var turns = new Option<string?>("--turns") { Description = "sharegpt / hh-rlhf: first (default), all (each human turn) or conversation." };
        var textCol = new Option<string[]>("--text-column") { Description = "Column holding the text (once for all inputs, or once per --input in order)." };
        var labelCol = new Option<string?>("--label-column") { Description = "Column holding harmful/benign (1/0, true/false, unsafe/safe)." };
        var catCol = new Option<string?>("--category-column") { Description = "Column holding the harm category." };
        var label = new Option<string[]>("--label") { Description = "Label for every row: harmful or benign (once for all inputs, or once per --input in order, e.g. --input advbench.csv --label harmful --input alpaca.json --label benign)." };
        var category = new Option<string[]>("--category") { Description = "Category for every row (once, or once per --input)." };
        var maxTokens = new Option<long>("--max-tokens") { Description = "Stop after this many tokens (0 = all).", DefaultValueFactory = _ => 0 };
        var maxDocs = new Option<int>("--max-docs") { Description = "Read at most this many documents per input (0 = all).", DefaultValueFactory = _ => 0 };
        var dtype = new Option<string>("--dtype") { Description = "f16 or f32 storage.", DefaultValueFactory = _ => "f16" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "vocab.txt or tokenizer.json for an ONNX model." };
        var hookTensor = new Option<string?>("--hook-tensor") { Description = "Capture this ONNX graph tensor instead of a layer output." };
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate documents to this many tokens (default: the model's)." };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "auto | none | chatml | llama-3 | llama-2 | gemma | phi-3: wrap every text as a user turn in a chat template (auto: the model's own; a bare --chat-template means auto).", Arity = ArgumentArity.ZeroOrOne };
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var cmd = new Command("extract", "Capture one layer's residual stream for every token of a corpus into a dump folder.")
        { model, layer, input, output, format, turns, textCol, labelCol, catCol, label, category, maxTokens, maxDocs, dtype, tokenizer, hookTensor, maxLength, chatTemplate, listLayers, threads, json };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            if (p.GetValue(listLayers))
            {
                foreach (var line in OnnxModelOpener.ListLayers(p.GetValue(model)!)) Console.WriteLine(line);
                return 0;
            }
            if ((p.GetValue(input) ?? Array.Empty<string>()).Length == 0 || p.GetValue(output) == null)
                throw new UserError("extract needs --input and --out (or --list-layers).");
            var dt = p.GetValue(dtype)!;
            if (dt != "f16" && dt != "f32") throw new UserError($"--dtype must be f16 or f32, got '{dt}'.");
            var docs = CorpusInputs.Read(p.GetValue(input)!, new CorpusInputOptions
            {
                Read = new CorpusReadOptions { Format = p.GetValue(format)!, Turns = p.GetValue(turns), LabelColumn = p.GetValue(labelCol), CategoryColumn = p.GetValue(catCol) },
                TextColumns = p.GetValue(textCol) ?? Array.Empty<string>(),
                Labels = p.GetValue(label) ?? Array.Empty<string>(),
                Categories = p.GetValue(category) ?? Array.Empty<string>(),
                MaxDocs = p.GetValue(maxDocs),
            });
            var template = p.GetResult(chatTemplate) == null ? ChatTemplateChoice.None : ChatTemplateChoice.Parse(p.GetValue(chatTemplate));
            using var source = CliModels.Sources.Open(new ModelRequest(p.GetValue(model)!, p.GetValue(layer))
            {
                Tokenizer = p.GetValue(tokenizer), Threads = p.GetValue(threads), MaxLength = p.GetValue(maxLength),
                HookTensor = p.GetValue(hookTensor), ChatTemplate = !template.IsNone, TemplateChoice = template,
            });
            var summary = Extractor.Run(source, docs, p.GetValue(output)!, new ExtractOptions { F16 = dt == "f16", MaxTokens = p.GetValue(maxTokens) });
            Console.Error.WriteLine($"extract: {summary.Docs:N0} docs, {summary.Tokens:N0} tokens ({summary.TruncatedDocs} truncated to {source.MaxLength}) in {summary.Seconds:F1}s, {summary.TokensPerSecond:N0} tokens/s → {summary.OutDir}");
            if (p.GetValue(json)) CliRunner.PrintJson(new { summary.Docs, summary.Tokens, summary.TruncatedDocs, summary.Shards, summary.Seconds, tokens_per_s = summary.TokensPerSecond, out_dir = summary.OutDir, model = source.ModelName, layer = source.Layer, d = source.Width });
            return 0;
        }));
        return cmd;
    }
}
