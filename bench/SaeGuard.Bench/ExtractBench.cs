using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
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
        var batch = BenchInputs.FillerTexts(BuiltInModels.MiniLmTokenizer(), 64, 64);
        long tokens = batch.Sum(b => b.Length) * (long)reps;

        using var opts = BenchInputs.PlainSessionOptions(threads);
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

        BenchInputs.FullExtract(src, 4000, "");
    }
}
