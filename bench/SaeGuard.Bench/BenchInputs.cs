using Microsoft.ML.OnnxRuntime;
using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Models;

namespace SaeGuard.Bench;

/// <summary>What the extraction benches share: the repository, seeded filler texts, the plain ORT session's options and a whole extract on Alpaca prompts.</summary>
static class BenchInputs
{
    static readonly string[] Words = "the model reads every token of the prompt and writes one row per token into the dump".Split(' ');

    public static string FindRepo()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "SaeGuard.sln"))) d = d.Parent;
        return d!.FullName;
    }

    /// <summary><paramref name="count"/> texts of 80 random filler words (seed 1), tokenized and cut to <paramref name="maxTokens"/>.</summary>
    public static List<TokenizedText> FillerTexts(ITextTokenizer tok, int count, int maxTokens)
    {
        var rng = new Random(1);
        return Enumerable.Range(0, count).Select(_ => tok.Encode(string.Join(" ", Enumerable.Range(0, 80).Select(_ => Words[rng.Next(Words.Length)])), maxTokens)).ToList();
    }

    /// <summary>The plain (peer) session's options: <paramref name="threads"/> intra-op threads, all optimisations, spinning as SaeGuard's own sessions.</summary>
    public static SessionOptions PlainSessionOptions(int threads)
    {
        var opts = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "1");
        return opts;
    }

    /// <summary>A whole extract (tokenize + forward + f16 shards) of the first <paramref name="take"/> Alpaca instructions; prints its tokens/s.</summary>
    public static void FullExtract(IActivationSource src, int take, string what)
    {
        var path = Path.Combine(FindRepo(), "..", "shared", "data", "refusal_direction_alpaca", "harmless_train.json");
        var docs = CorpusReader.Read(path, new CorpusReadOptions { TextColumn = "instruction" }).Take(take).ToList();
        var outDir = Path.Combine(Path.GetTempPath(), "saeguard-bench-extract-" + Guid.NewGuid().ToString("N")[..8]);
        Common.ProgressBar.Silent = true;
        var summary = Extractor.Run(src, docs, outDir);
        Console.WriteLine($"full extract{what}, {summary.Docs} Alpaca instructions ({summary.Tokens:N0} tokens, f16 shards): {summary.TokensPerSecond:N0} tokens/s");
        Directory.Delete(outDir, true);
    }
}
