using System.Diagnostics;
using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Sae.Training;

namespace SaeGuard.Bench;

/// <summary>
/// docs/SCALE.md's measured figures: extraction tokens/s of one worker (MiniLM layer 4, one shard
/// of N), the size of a dump per million tokens, `acts merge` time, and SAE training tokens/s from
/// the merged dump on disk, from the same rows in memory, and straight from the model.
/// </summary>
public sealed class ScaleBenchmark : IBenchmark
{
    public string Name => "scale";
    public string Description => "sharded extract tokens/s per worker, merge, train tokens/s from merged dump vs memory vs model (MiniLM)";

    public void Run(string[] args)
    {
        int docs = Arg(args, "--docs", 2000), shards = Arg(args, "--shards", 4), threads = Arg(args, "--threads", 2);
        var corpusFile = Path.Combine(FindRepo(), "..", "shared", "data", "refusal_direction_alpaca", "harmless_train.json");
        IEnumerable<DocRecord> Corpus() => CorpusReader.Read(corpusFile, new CorpusReadOptions { TextColumn = "instruction" }).Take(docs);
        var root = Path.Combine(Path.GetTempPath(), "saeguard-scale-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            using var source = BuiltInModels.MiniLm(threads: threads);
            var dirs = new List<string>();
            double extractSec = 0; long tokens = 0;
            for (int i = 0; i < shards; i++)
            {
                var dir = Path.Combine(root, $"shard-{i}");
                var r = ShardedExtraction.Run(source, Corpus, dir, new ShardSpec(i, shards), "bench");
                extractSec += r.Extract.Seconds; tokens += r.Extract.Tokens;
                Console.WriteLine($"extract shard {i}/{shards}: {r.Extract.Tokens:N0} tokens in {r.Extract.Seconds:F1} s = {r.Extract.TokensPerSecond:N0} tokens/s (imbalance {r.Plan.Imbalance:F3})");
                dirs.Add(dir);
            }
            long bytes = dirs.Sum(d => Directory.GetFiles(d, "*.safetensors").Sum(f => new FileInfo(f).Length));
            Console.WriteLine($"extract per worker: {tokens / extractSec:N0} tokens/s; dump {bytes / 1e6:F1} MB = {bytes / 1e9 / (tokens / 1e6):F3} GB per million tokens (d = {source.Width}, f16)");
            var sw = Stopwatch.StartNew();
            var merged = MergedDump.Merge(dirs, Path.Combine(root, "merged"));
            Console.WriteLine($"acts merge: {merged.Shards} shards, {merged.VerifiedBytes / 1e6:F1} MB verified in {sw.Elapsed.TotalSeconds:F2} s");

            var o = new SaeTrainOptions { Expansion = 8, K = 32, BatchSize = 4096, Seed = 1, Threads = threads, Tokens = tokens };
            var dump = ActivationDump.Open(Path.Combine(root, "merged"));
            Report("train from merged dump (disk)", SaeTrainer.Run(new DumpTrainData(dump), o));
            var rows = dump.ReadBlocks().ToList();
            var all = rows.SelectMany(b => b.Data).ToArray();
            Report("train from memory (same rows)", SaeTrainer.Run(new MemoryTrainData(all, dump.D, rows.SelectMany(b => b.DocIds).ToArray(), rows.SelectMany(b => b.IsSpecial).ToArray()), o));
            var store = new ModelActivationStore(source, Corpus, new ModelStoreOptions { BufferRows = 20 * 4096 });
            Report("train straight from the model", SaeTrainer.Run(store, o));
        }
        finally { Directory.Delete(root, true); }
    }

    static void Report(string what, SaeTrainResult r) =>
        Console.WriteLine($"{what}: {r.TokensSeen:N0} tokens in {r.Seconds:F1} s = {r.TokensSeen / r.Seconds:N0} tokens/s overall, " +
            $"data {r.PhaseSeconds.GetValueOrDefault("data"):F1} s, step tokens/s {r.Final.TokensPerS:N0}");

    static int Arg(string[] a, string name, int dflt) { int i = Array.IndexOf(a, name); return i >= 0 && i + 1 < a.Length ? int.Parse(a[i + 1]) : dflt; }

    static string FindRepo()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "SaeGuard.sln"))) d = d.Parent;
        return d?.FullName ?? Directory.GetCurrentDirectory();
    }
}
