using System.Diagnostics;
using SaeGuard.Data;
using SaeGuard.Data.Mixing;

namespace SaeGuard.Bench;

/// <summary>
/// Token counting for `data mix` / `data stats`: MiniLM WordPiece tokens per second over the shared
/// corpora (ShareGPT, Alpaca harmless, hh-rlhf, jailbreak prompts, WikiText), on 1 thread and all cores.
/// </summary>
public sealed class DataMixBench : IBenchmark
{
    public string Name => "data-mix";
    public string Description => "tokens/s of MiniLM token counting over the shared corpora (1 thread vs all cores), and a whole mix";

    public void Run(string[] args)
    {
        var data = args.Length > 0 ? args[0] : Path.Combine(FindRoot(), "..", "shared", "data");
        var files = new (string Path, string Format)[]
        {
            (Path.Combine(data, "sharegpt", "ShareGPT_V3_filtered_500.json"), "sharegpt"),
            (Path.Combine(data, "refusal_direction_alpaca", "harmless_train.json"), "alpaca"),
            (Path.Combine(data, "hh_rlhf", "harmless-base", "test.jsonl.gz"), "hh-rlhf"),
            (Path.Combine(data, "jailbreak_llms", "jailbreak_prompts_2023_12_25.first300.csv"), "jailbreak"),
            (Path.Combine(data, "wikitext", "wiki.test.raw"), "txt"),
        };
        var sw = Stopwatch.StartNew();
        var texts = files.SelectMany(f => CorpusReader.Read(f.Path, new CorpusReadOptions { Format = f.Format })).Select(d => d.Text).ToList();
        double readS = sw.Elapsed.TotalSeconds;
        long bytes = texts.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t));
        Console.WriteLine($"read {texts.Count:N0} documents ({bytes / 1e6:F1} MB of text) in {readS:F2} s");
        var c = Models.ModelSources.BuiltIn.OpenTokenCounter("minilm");
        var counter = new TokenCounter(c.ModelName, c.Count, owned: c);
        Common.ProgressBar.Silent = true;
        counter.CountAll(texts.Take(2000).ToList(), threads: 1); // warm-up (JIT)
        foreach (var threads in new[] { 1, Environment.ProcessorCount })
        {
            var best = double.MaxValue;
            long tokens = 0;
            for (int rep = 0; rep < 3; rep++)
            {
                sw.Restart();
                tokens = counter.CountAll(texts, threads: threads).Sum(n => (long)n);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            Console.WriteLine($"count tokens, {threads} thread(s): {tokens:N0} tokens in {best:F2} s = {tokens / best:N0} tokens/s ({texts.Count / best:N0} docs/s, best of 3)");
        }
    }

    static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SaeGuard.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
