using System.CommandLine;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Eval;
using SaeGuard.Gguf;
using SaeGuard.Sae;

namespace SaeGuard.Cli.Commands;

static class EvalCommand
{
    public static Command Create()
    {
        var sae = new Option<string[]>("--sae") { Description = "SAE folder(s) (SAELens layout); repeat for several.", Required = true, AllowMultipleArgumentsPerToken = true };
        var model = new Option<string>("--model") { Description = "PATH.gguf or PATH.onnx (decoder LM: CE/KL), minilm or PATH.onnx (encoder: embedding cosine).", DefaultValueFactory = _ => "minilm" };
        var layer = new Option<int?>("--layer") { Description = "Hooked layer (default: the SAEs' metadata layer)." };
        var input = new Option<string>("--input") { Description = "Evaluation corpus (CSV, JSONL, TXT, …); labelled corpora also get k-sparse probing.", Required = true };
        var format = new Option<string>("--format") { Description = SaeGuard.Data.Formats.DataFormats.KnownNames, DefaultValueFactory = _ => "auto" };
        var textCol = new Option<string?>("--text-column") { Description = "Column holding the text." };
        var labelCol = new Option<string?>("--label-column") { Description = "Column holding harmful/benign." };
        var output = CommonOptions.Required("--out", "Output folder: eval.json, report.html, Pareto plots.");
        var maxDocs = new Option<int>("--max-docs") { Description = "Evaluate at most this many documents (0 = all).", DefaultValueFactory = _ => 0 };
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate documents to this many tokens (GGUF default 512; ONNX: the tokenizer's model_max_length, else 512)." };
        var spliceSpecial = new Option<bool>("--splice-special") { Description = "Also splice special tokens (BOS, [CLS], [SEP]); default: keep them clean, as SAELens." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "vocab.txt or tokenizer.json for an ONNX model." };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var cmd = new Command("eval", "Is the SAE faithful to the model? Splice its reconstruction into the forward (CE loss recovered, KL, embedding cosine), SAEBench core metrics and k-sparse probing.")
        { sae, model, layer, input, format, textCol, labelCol, output, maxDocs, maxLength, spliceSpecial, tokenizer, seed, threads, json };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var saes = p.GetValue(sae)!.Select(d => new EvalSae(d, SaeLensFormat.Load(d))).ToList();
            int hookLayer = p.GetValue(layer) ?? saes[0].Sae.Config.Metadata.Layer;
            var corpusPath = p.GetValue(input)!;
            var docs = CorpusReader.Read(corpusPath, new CorpusReadOptions { Format = p.GetValue(format)!, TextColumn = p.GetValue(textCol), LabelColumn = p.GetValue(labelCol) }).ToList();
            var o = new EvalOptions { MaxDocs = p.GetValue(maxDocs), SpliceSpecialTokens = p.GetValue(spliceSpecial), Seed = p.GetValue(seed) };
            using var m = Open(p.GetValue(model)!, hookLayer, p.GetValue(tokenizer), p.GetValue(threads), p.GetValue(maxLength));
            var outDir = p.GetValue(output)!;
            var file = EvalRunner.Run(m, saes, docs, Path.GetFileName(corpusPath), outDir, o);
            foreach (var r in file.Saes)
                Console.Error.WriteLine($"eval: {r.Name}: L0 {r.Sparsity.L0:F1}, EV {r.ReconstructionQuality.ExplainedVariance:F4}, " +
                    (r.ModelPerformancePreservation is { } mp
                        ? $"ce_loss_score {mp.CeLossScore:F4} (CE clean {mp.CeLossWithoutSae:F4}, sae {mp.CeLossWithSae:F4}, zero {mp.CeLossWithAblation:F4}, sae+err {mp.CeLossWithSaeAndError:F4}), kl_div_score {r.ModelBehaviorPreservation!.KlDivScore:F4}"
                        : $"embedding_score {r.EmbeddingPreservation!.EmbeddingScore:F4} (cos sae {r.EmbeddingPreservation.EmbeddingCosWithSae:F4}, zero {r.EmbeddingPreservation.EmbeddingCosWithAblation:F4})") +
                    (r.SparseProbing is { } sp ? $", k-sparse AUROC k={sp.K[0]} {sp.SaeTestAuroc[0]:F3} … k={sp.K[^1]} {sp.SaeTestAuroc[^1]:F3} (dense {sp.DenseTestAuroc:F3})" : ""));
            Console.Error.WriteLine($"eval: {file.Saes.Count} SAE(s) in {file.Seconds:F1}s → {outDir}");
            if (p.GetValue(json)) CliRunner.PrintJson(file);
            return 0;
        }));
        return cmd;
    }

    static ISplicedModel Open(string model, int layer, string? tokenizer, int threads, int? maxLength)
    {
        if (model.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(model)) throw new UserError($"Model not found: '{model}'.");
            return new GgufSplicer(model, layer, new GgufOptions { Threads = threads, MaxLength = maxLength });
        }
        return OnnxSplicedModel.Open(model, layer, tokenizer, threads, maxLength);
    }
}
