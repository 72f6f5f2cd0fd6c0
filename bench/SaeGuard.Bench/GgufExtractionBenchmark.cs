using System.Diagnostics;
using SaeGuard.Data;
using SaeGuard.Gguf;
using SaeGuard.Gguf.Testing;
using SaeGuard.Models;

namespace SaeGuard.Bench;

/// <summary>
/// GGUF extraction speed (tokens/s of GgufActivationSource.Run, tokenization excluded) on random
/// llama models: the tiny test model and a 1024-wide, 8-layer f16 one; with the capture callback
/// (early exit on/off), and without any callback (plain llama.cpp forward: the capture overhead baseline).
/// Args: [tiny-model docs=520] [large-model docs=48] [threads=0] [repeats=5].
/// <c>gguf families [docs=16] [threads=0] [repeats=2]</c>: every <see cref="TinyFamily"/> at d 1024, 8 blocks,
/// f16 (models written to bench/out/ while it runs): llama.cpp alone vs capture, full forward and early exit.
/// </summary>
public sealed class GgufExtractionBenchmark : IBenchmark
{
    public string Name => "gguf";
    public string Description => "GGUF extraction tokens/s on random llama models, with and without the capture callback";

    public void Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "families") { RunFamilies(args[1..]); return; }
        int tinyDocs = args.Length > 0 ? int.Parse(args[0]) : 520;
        int largeDocs = args.Length > 1 ? int.Parse(args[1]) : 48;
        int threads = args.Length > 2 ? int.Parse(args[2]) : 0;
        int repeats = args.Length > 3 ? int.Parse(args[3]) : 5;
        var corpus = CorpusReader.Read(SharedData("advbench", "harmful_behaviors.csv"), new CorpusReadOptions { TextColumn = "goal" })
            .Select(d => d.Text).ToList();
        var dir = Path.Combine(Path.GetTempPath(), "saeguard-bench-gguf-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var models = new (string Label, TinyLlamaSpec Spec, int Docs)[]
            {
                ("tiny (d 64, 4 layers, f32)", new TinyLlamaSpec(), tinyDocs),
                ("random (d 1024, 8 layers, 16 heads, 8 KV, ff 2816, f16)", new TinyLlamaSpec { NEmbd = 1024, NLayer = 8, NHead = 16, NHeadKv = 8, NFf = 2816, F16 = true, ContextLength = 2048 }, largeDocs),
            };
            Console.WriteLine($"AdvBench prompts, threads {(threads > 0 ? threads : Environment.ProcessorCount)}, best of {repeats}");
            Console.WriteLine($"| model | configuration | input | seconds | tokens/s | time vs no callback |");
            Console.WriteLine($"|---|---|---:|---:|---:|---:|");
            foreach (var (label, spec, docs) in models)
            {
                var texts = corpus.Take(docs).ToList();
                var path = Path.Combine(dir, $"model-{spec.NEmbd}.gguf");
                TinyLlama.Write(path, spec);
                int mid = spec.NLayer / 2, last = spec.NLayer - 1;
                var configs = new (string Name, int Layer, GgufOptions Options)[]
                {
                    ($"no callback, full forward (llama.cpp alone)", last, new GgufOptions { Threads = threads, Capture = false }),
                    ($"capture l_out-{last}, full forward", last, new GgufOptions { Threads = threads, EarlyExit = false }),
                    ($"capture l_out-{mid}, full forward", mid, new GgufOptions { Threads = threads, EarlyExit = false }),
                    ($"capture l_out-{mid}, early exit (default)", mid, new GgufOptions { Threads = threads }),
                    ($"capture l_out-1, early exit (default)", 1, new GgufOptions { Threads = threads }),
                };
                // All configurations stay open and take turns, so a busy machine slows them alike.
                var sources = configs.Select(c => new GgufActivationSource(path, c.Layer, c.Options)).ToList();
                try
                {
                    var toks = texts.Select(sources[0].Tokenize).ToList();
                    long tokens = toks.Sum(t => (long)t.Length);
                    foreach (var source in sources) source.Run(toks.Take(8).ToList()); // warm-up
                    var best = BestSeconds(sources, toks, repeats);
                    for (int c = 0; c < sources.Count; c++)
                        Console.WriteLine($"| {label} | {configs[c].Name} | {texts.Count} docs, {tokens:N0} tokens | {best[c]:F3} | {tokens / best[c]:N0} | {best[c] / best[0]:F2} |");
                }
                finally { sources.ForEach(x => x.Dispose()); }
                File.Delete(path);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>A 1024-wide, 8-block f16 model of the family (its own head layout, the tiny preset's other settings).</summary>
    static TinyLlamaSpec Large(TinyFamily f) => TinyFamilies.Spec(f) with
    {
        NEmbd = 1024, NLayer = 8, NFf = 2816, F16 = true, ContextLength = 2048,
        NHead = f == TinyFamily.Gemma2 ? 8 : 16,
        NHeadKv = f switch { TinyFamily.Phi3 => 16, TinyFamily.Llama => 8, TinyFamily.Gemma2 => 4, TinyFamily.Qwen2 => 2, _ => 4 },
        KeyLength = f == TinyFamily.Gemma2 ? 128 : null,
        SlidingWindow = f == TinyFamily.Gemma2 ? 4096 : TinyFamilies.Spec(f).SlidingWindow,
        AttnSoftcap = f == TinyFamily.Gemma2 ? 50f : 0f, FinalSoftcap = f == TinyFamily.Gemma2 ? 30f : 0f,
    };

    static void RunFamilies(string[] args)
    {
        int docs = args.Length > 0 ? int.Parse(args[0]) : 16;
        int threads = args.Length > 1 ? int.Parse(args[1]) : 0;
        int repeats = args.Length > 2 ? int.Parse(args[2]) : 2;
        var texts = CorpusReader.Read(SharedData("advbench", "harmful_behaviors.csv"), new CorpusReadOptions { TextColumn = "goal" })
            .Select(d => d.Text).Take(docs).ToList();
        var dir = Path.Combine(RepoRoot(), "bench", "out");
        Directory.CreateDirectory(dir);
        Console.WriteLine($"AdvBench prompts ({docs}), d 1024, 8 blocks, ff 2816, f16; threads {(threads > 0 ? threads : Environment.ProcessorCount)}, best of {repeats}");
        Console.WriteLine("| family (architecture; heads/KV heads × head size; vocab) | tokens | llama.cpp alone tok/s | capture l_out-4, full forward tok/s | overhead | capture l_out-4, early exit tok/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var family in TinyFamilies.All)
        {
            var spec = Large(family);
            var path = Path.Combine(dir, $"gguf-bench-{family.ToString().ToLowerInvariant()}.gguf");
            var weights = TinyLlama.Write(path, spec);
            try
            {
                var configs = new[]
                {
                    new GgufOptions { Threads = threads, Capture = false, EarlyExit = false },
                    new GgufOptions { Threads = threads, EarlyExit = false },
                    new GgufOptions { Threads = threads },
                };
                var sources = configs.Select(o => new GgufActivationSource(path, 4, o)).ToList();
                try
                {
                    var toks = texts.Select(sources[0].Tokenize).ToList();
                    long tokens = toks.Sum(t => (long)t.Length);
                    foreach (var source in sources) source.Run(toks.Take(2).ToList()); // warm-up
                    var best = BestSeconds(sources, toks, repeats);
                    Console.WriteLine($"| {family} ({spec.Architecture}; {spec.NHead}/{spec.NHeadKv} × {spec.HeadDim}; {weights.Vocab.Count:N0}) | {tokens:N0} | " +
                        $"{tokens / best[0]:N0} | {tokens / best[1]:N0} | {best[1] / best[0]:F2} | {tokens / best[2]:N0} |");
                }
                finally { sources.ForEach(x => x.Dispose()); }
            }
            finally { File.Delete(path); }
        }
    }

    /// <summary>Best wall time of each source over the documents; the sources take turns, so a busy machine slows them alike.</summary>
    static double[] BestSeconds(IReadOnlyList<GgufActivationSource> sources, List<TokenizedText> toks, int repeats)
    {
        var best = new double[sources.Count];
        Array.Fill(best, double.MaxValue);
        for (int r = 0; r < repeats; r++)
            for (int c = 0; c < sources.Count; c++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var batch in Chunks(toks, 64)) sources[c].Run(batch);
                best[c] = Math.Min(best[c], sw.Elapsed.TotalSeconds);
            }
        return best;
    }

    static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "SaeGuard.sln"))) d = d.Parent;
        return d?.FullName ?? Directory.GetCurrentDirectory();
    }

    static IEnumerable<List<TokenizedText>> Chunks(List<TokenizedText> all, int size)
    {
        for (int i = 0; i < all.Count; i += size) yield return all.Skip(i).Take(size).ToList();
    }

    static string SharedData(params string[] parts) =>
        Path.Combine(new[] { RepoRoot(), "..", "shared", "data" }.Concat(parts).ToArray());
}
