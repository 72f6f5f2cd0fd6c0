using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Models;

namespace SaeGuard.Bench;

/// <summary>
/// Extraction tokens/s on 2 threads: a plain ORT forward of the unmodified model (the peer),
/// the capture of one layer through OnnxTransformerSource on the same batches, and the whole
/// extract (tokenize + forward + f16 shards) on real prompts.
/// </summary>
public sealed class ExtractBench : IBenchmark
{
    public string Name => "extract";
    public string Description => "MiniLM layer capture vs plain ORT forward (64 sentences × 64 tokens), and full extract";

    public void Run(string[] args)
    {
        int threads = args.Length > 0 ? int.Parse(args[0]) : 2;
        int layer = args.Length > 1 ? int.Parse(args[1]) : 4;
        int reps = 8;
        var tok = BuiltInModels.MiniLmTokenizer();
        var words = "the model reads every token of the prompt and writes one row per token into the dump".Split(' ');
        var rng = new Random(1);
        var batch = Enumerable.Range(0, 64).Select(_ => tok.Encode(string.Join(" ", Enumerable.Range(0, 80).Select(_ => words[rng.Next(words.Length)])), 64)).ToList();
        long tokens = batch.Sum(b => b.Length) * (long)reps;

        using var opts = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "1");
        using var plain = new InferenceSession(BuiltInModels.MiniLmOnnx, opts);
        var shape = new long[] { 64, 64 };
        var ids = batch.SelectMany(b => b.Ids.Select(i => (long)i)).ToArray();
        var mask = Enumerable.Repeat(1L, 64 * 64).ToArray();
        var types = new long[64 * 64];
        double PlainOnce()
        {
            var sw = Stopwatch.StartNew();
            using var a = OrtValue.CreateTensorValueFromMemory(ids, shape);
            using var m = OrtValue.CreateTensorValueFromMemory(mask, shape);
            using var t = OrtValue.CreateTensorValueFromMemory(types, shape);
            using var runOptions = new RunOptions();
            using var r = plain.Run(runOptions, new[] { "input_ids", "attention_mask", "token_type_ids" }, new[] { a, m, t }, new[] { "last_hidden_state" });
            return sw.Elapsed.TotalSeconds;
        }
        using var src = BuiltInModels.MiniLm(layer, threads);
        double CaptureOnce()
        {
            var sw = Stopwatch.StartNew();
            src.Run(batch);
            return sw.Elapsed.TotalSeconds;
        }
        PlainOnce(); CaptureOnce();
        // Interleave to share machine noise fairly; report the best of three rounds.
        double bestPlain = double.MaxValue, bestCapture = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            double p = 0, c = 0;
            for (int i = 0; i < reps; i++) { p += PlainOnce(); c += CaptureOnce(); }
            bestPlain = Math.Min(bestPlain, p); bestCapture = Math.Min(bestCapture, c);
        }
        Console.WriteLine($"plain ORT forward (last_hidden_state): {tokens / bestPlain,10:N0} tokens/s");
        Console.WriteLine($"SaeGuard capture (layer {layer}):          {tokens / bestCapture,10:N0} tokens/s  overhead {100 * (bestCapture / bestPlain - 1):+0.0;-0.0}%");

        var shared = Path.Combine(FindRepo(), "..", "shared", "data");
        var docs = CorpusReader.Read(Path.Combine(shared, "refusal_direction_alpaca", "harmless_train.json"), new CorpusReadOptions { TextColumn = "instruction" }).Take(4000).ToList();
        var outDir = Path.Combine(Path.GetTempPath(), "saeguard-bench-extract");
        Common.ProgressBar.Silent = true;
        var summary = Extractor.Run(src, docs, outDir);
        Console.WriteLine($"full extract, {summary.Docs} Alpaca instructions ({summary.Tokens:N0} tokens, f16 shards): {summary.TokensPerSecond:N0} tokens/s");
        Directory.Delete(outDir, true);
    }

    internal static string FindRepo()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "SaeGuard.sln"))) d = d.Parent;
        return d!.FullName;
    }
}
