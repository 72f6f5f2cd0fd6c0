using System.CommandLine;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Models;

namespace SaeGuard.Cli.Commands;

static class ExtractCommand
{
    public static Command Create()
    {
        var corpus = new CorpusCliOptions(required: true, modelDefault: "minilm");
        var output = new Option<string?>("--out") { Description = "Output dump folder (required unless --list-layers)." };
        var listLayers = new Option<bool>("--list-layers") { Description = "ONNX models: print the layer range and the graph tensor captured for each layer, then exit." };
        var dtype = new Option<string>("--dtype") { Description = "f16 or f32 storage.", DefaultValueFactory = _ => "f16" };
        var shard = new Option<string?>("--shard") { Description = "Extract only shard i of N (e.g. 0/4): contiguous document ranges balanced on tokens; doc ids stay corpus indices; a finished shard is not redone. Merge with `acts merge`." };
        var shardMb = new Option<int>("--max-shard-mb") { Description = "Size of each safetensors file of the dump, in MB.", DefaultValueFactory = _ => 64 };
        var window = new Option<int>("--sort-window") { Description = "Documents tokenized, sorted by length and batched together (their activations are held in memory at once).", DefaultValueFactory = _ => 1024 };
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var force = CommonOptions.Force(); var nonfinite = CommonOptions.NonFinite();
        var cmd = new Command("extract", "Capture one layer's residual stream for every token of a corpus into a dump folder.")
        { output, listLayers, dtype, shard, shardMb, window, threads, json, force, nonfinite };
        corpus.AddTo(cmd);
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            if (p.GetValue(listLayers))
            {
                foreach (var line in OnnxModelOpener.ListLayers(p.GetValue(corpus.Model)!)) Console.WriteLine(line);
                return 0;
            }
            if ((p.GetValue(corpus.Input) ?? Array.Empty<string>()).Length == 0 || p.GetValue(output) == null)
                throw new UserError("extract needs --input and --out (or --list-layers).");
            var dt = p.GetValue(dtype)!;
            if (dt != "f16" && dt != "f32") throw new UserError($"--dtype must be f16 or f32, got '{dt}'.");
            OutputPolicy.Folder(p.GetValue(output)!, "dump", p.GetValue(force), [.. p.GetValue(corpus.Input)!, p.GetValue(corpus.Model), p.GetValue(corpus.Tokenizer)]);
            NonFiniteRows.Use(p.GetValue(nonfinite));
            var spec = p.GetValue(shard) is { } sh ? ShardSpec.Parse(sh) : (ShardSpec?)null;
            if (p.GetValue(window) <= 0) throw new UserError($"--sort-window must be positive, got {p.GetValue(window)}.");
            if (p.GetValue(shardMb) <= 0) throw new UserError($"--max-shard-mb must be positive, got {p.GetValue(shardMb)}.");
            var (open, files, key) = corpus.Corpus(p);
            using var source = corpus.OpenSource(p, p.GetValue(threads));
            var options = new ExtractOptions { F16 = dt == "f16", MaxTokens = p.GetValue(corpus.MaxTokens), MaxShardBytes = (long)p.GetValue(shardMb) << 20, SortWindow = p.GetValue(window) };
            var job = spec == null ? "" : ShardedExtraction.JobKey(files, source, key, options.MaxShardBytes.ToString(), dt);
            var run = ShardedExtraction.Run(source, open, p.GetValue(output)!, spec, job, options);
            var summary = run.Extract;
            if (run.AlreadyDone)
                Console.Error.WriteLine($"extract: shard {spec} is already complete in {summary.OutDir} ({summary.Docs:N0} docs, {summary.Tokens:N0} tokens); nothing to do.");
            else
            {
                if (spec != null)
                    Console.Error.WriteLine($"extract: shard {spec} = documents {run.Plan.FirstDoc:N0}–{run.Plan.FirstDoc + run.Plan.Docs - 1:N0} of {run.Plan.CorpusDocs:N0} ({run.Plan.Tokens:N0} of {run.Plan.CorpusTokens:N0} tokens; largest shard {run.Plan.Imbalance:F3}× the mean).");
                Console.Error.WriteLine($"extract: {summary.Docs:N0} docs, {summary.Tokens:N0} tokens ({summary.TruncatedDocs} truncated to {source.MaxLength}) in {summary.Seconds:F1}s, {summary.TokensPerSecond:N0} tokens/s → {summary.OutDir}");
            }
            if (NonFiniteRows.Summary("extract") is { } dropped) Console.Error.WriteLine(dropped);
            if (p.GetValue(json))
                CliRunner.PrintJson(new
                {
                    summary.Docs, summary.Tokens, summary.TruncatedDocs, summary.Shards, summary.Seconds, tokens_per_s = summary.TokensPerSecond,
                    out_dir = summary.OutDir, model = source.ModelName, layer = source.Layer, d = source.Width,
                    shard = spec?.ToString(), already_done = run.AlreadyDone, first_doc = run.Plan.FirstDoc, imbalance = run.Plan.Imbalance,
                });
            return 0;
        }));
        return cmd;
    }
}
