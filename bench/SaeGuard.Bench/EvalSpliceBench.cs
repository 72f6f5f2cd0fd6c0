using System.Diagnostics;
using SaeGuard.Data;
using SaeGuard.Eval;
using SaeGuard.Gguf;
using SaeGuard.Gguf.Testing;
using SaeGuard.Models;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;

namespace SaeGuard.Bench;

/// <summary>
/// Splicing overhead and family training. Spliced forward tokens/s vs the plain forward, for a
/// random 1024-wide llama GGUF (plain = all-logits forward with the callback idle; identity = rows
/// copied out and written back; SAE = a TopK SAE's x̂ written back) and for MiniLM (plain = the
/// whole ONNX model; split = prefix + suffix graph; SAE splice). Then a TopK family of 4 (k 16, 32,
/// 64, 128) trained in one pass vs the 4 trained one after the other. For the d=1024, 8-block
/// Llama-style ONNX decoder of make_onnx_decoders.py --bench (bench/out/decoder-1024x8; skipped when
/// missing): plain = the whole graph to logits; split = prefix + suffix graph (fresh document lists, so
/// nothing is reused); a whole <see cref="SpliceEvaluator"/> run with one SAE (mean sweep, clean, zero,
/// mean, SAE, SAE + error: 6 forwards' worth, the prefix run twice per pack).
/// Args: [gguf docs=32] [minilm docs=128] [family rows=40000] [threads=0] [decoder docs=32]; a count of 0 skips that part.
/// </summary>
public sealed class EvalSpliceBench : IBenchmark
{
    public string Name => "eval";
    public string Description => "spliced-eval tokens/s vs the plain forward (GGUF, MiniLM); SAE family training vs separate runs";

    static SaeModel RandomTopK(int d, int m, int k)
    {
        var rng = new Random(1);
        float[] R(int n, double s) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * s)).ToArray();
        return new SaeModel(new SaeConfig { DIn = d, DSae = m, Architecture = "topk", K = k }, R(d * m, 1 / Math.Sqrt(d)), new float[m], R(m * d, 1 / Math.Sqrt(d)), new float[d]);
    }

    static double Time(Action a, int repeats)
    {
        a(); // warm-up
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++) { var sw = Stopwatch.StartNew(); a(); best = Math.Min(best, sw.Elapsed.TotalSeconds); }
        return best;
    }

    static RowSplice SaeSplice(SaeModel sae) => (rows, _, _) =>
    {
        int n = rows.Length / sae.DIn;
        var z = sae.Encode(rows, n);
        var xhat = new float[rows.Length];
        sae.Decode(z, n, xhat);
        xhat.CopyTo(rows);
    };

    public void Run(string[] args)
    {
        int ggufDocs = args.Length > 0 ? int.Parse(args[0]) : 32;
        int miniDocs = args.Length > 1 ? int.Parse(args[1]) : 128;
        int familyRows = args.Length > 2 ? int.Parse(args[2]) : 40_000;
        int threads = args.Length > 3 ? int.Parse(args[3]) : 0;
        int decoderDocs = args.Length > 4 ? int.Parse(args[4]) : 32;
        var root = BenchInputs.FindRepo();
        var corpus = CorpusReader.Read(Path.Combine(root, "..", "shared", "data", "advbench", "harmful_behaviors.csv"), new CorpusReadOptions { TextColumn = "goal" })
            .Select(d => d.Text).ToList();
        Console.WriteLine("| model | forward | tokens | seconds (best of 3) | tokens/s | time vs plain |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        var dir = Path.Combine(Path.GetTempPath(), "saeguard-bench-eval-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var spec = new TinyLlamaSpec { NEmbd = 1024, NLayer = 8, NHead = 16, NHeadKv = 8, NFf = 2816, F16 = true, ContextLength = 2048 };
            var path = Path.Combine(dir, "random-1024.gguf");
            if (ggufDocs > 0) TinyLlama.Write(path, spec);
            if (ggufDocs > 0)
            using (var s = new GgufSplicer(path, 3, new GgufOptions { Threads = threads }))
            {
                var docs = corpus.Take(ggufDocs).Select(s.Tokenize).ToList();
                var packs = SpliceEvaluator.Pack(docs.Select(d => new EvalDoc(d, -1)).ToList(), 512, s.MaxPackDocs).Select(p => p.Select(i => docs[i]).ToList()).ToList();
                int tokens = docs.Sum(d => d.Length);
                var sae = RandomTopK(1024, 8192, 64);
                Report("random llama d1024 × 8 (f16), layer 3", tokens, new (string, RowSplice?)[] { ("plain (all logits)", null), ("identity splice", (_, _, _) => { }), ("TopK SAE 8192 k64 splice", SaeSplice(sae)) },
                    sp => Time(() => { foreach (var p in packs) s.Forward(p, sp); }, 3));
            }
            if (miniDocs > 0)
            using (var spliced = OnnxSplicedModel.Open("minilm", 3, null, threads, null))
            using (var full = BuiltInModels.MiniLm(5, threads))
            {
                var docs = corpus.Take(miniDocs).Select(spliced.Tokenize).ToList();
                var batches = docs.Chunk(16).Select(b => b.ToList()).ToList();
                int tokens = docs.Sum(d => d.Length);
                double plain = Time(() => { foreach (var b in batches) full.Run(b); }, 3);
                Console.WriteLine($"| MiniLM (whole graph) | plain ONNX Runtime | {tokens} | {plain:F3} | {tokens / plain:N0} | 1.00 |");
                var sae = RandomTopK(384, 3072, 32);
                foreach (var (name, sp) in new (string, RowSplice?)[] { ("prefix + suffix graph", null), ("identity splice", (_, _, _) => { }), ("TopK SAE 3072 k32 splice", SaeSplice(sae)) })
                {
                    double t = Time(() => { foreach (var b in batches) spliced.Forward(b, sp); }, 3);
                    Console.WriteLine($"| MiniLM split at layer 3 | {name} | {tokens} | {t:F3} | {tokens / t:N0} | {t / plain:F2} |");
                }
            }
        }
        finally { Directory.Delete(dir, true); }
        var decoder = Path.Combine(root, "bench", "out", "decoder-1024x8", "model.onnx");
        if (decoderDocs > 0 && File.Exists(decoder)) OnnxDecoder(decoder, corpus, decoderDocs, threads);
        else if (decoderDocs > 0) Console.WriteLine($"(ONNX decoder rows skipped: {decoder} is missing; make it with /usr/bin/python3 tests/fixtures-src/make_onnx_decoders.py --bench bench/out/decoder-1024x8)");
        if (familyRows > 0) Family(familyRows, threads);
    }

    static void OnnxDecoder(string path, List<string> corpus, int count, int threads)
    {
        const int layer = 3;
        using var full = OnnxModelOpener.Open(path, 0, threads: threads, maxLength: 128, hookTensor: "logits");
        using var spliced = OnnxSplicedModel.Open(path, layer, null, threads, 128);
        var docs = corpus.Take(count).Select(spliced.Tokenize).ToList();
        var evalDocs = docs.Select(d => new EvalDoc(d, -1)).ToList();
        var packs = SpliceEvaluator.Pack(evalDocs, 512, spliced.MaxPackDocs).Select(p => p.Select(i => docs[i]).ToList()).ToList();
        int tokens = docs.Sum(d => d.Length);
        string model = $"ONNX llama d1024 × 8 (f32), layer {layer}";
        var sae = RandomTopK(1024, 8192, 64);
        Common.ProgressBar.Silent = true;
        var configs = new (string Name, Action Run)[]
        {
            ("plain ONNX Runtime (whole graph, logits)", () => { foreach (var p in packs) full.Run(p); }),
            ("prefix + suffix graph", () => { foreach (var p in packs) spliced.Forward(p.ToList(), null); }),
            ("identity splice", () => { foreach (var p in packs) spliced.Forward(p.ToList(), (_, _, _) => { }); }),
            ("TopK SAE 8192 k64 splice", () => { foreach (var p in packs) spliced.Forward(p.ToList(), SaeSplice(sae)); }),
            ("whole eval, 1 SAE (mean sweep + 5 variants: 6 forwards' worth; plain × 6 = 6.00)", () => SpliceEvaluator.Run(spliced, new[] { sae }, evalDocs, new EvalOptions())),
        };
        // interleaved rounds share the (shared, loaded) machine's noise; best of 3 per row
        foreach (var c in configs) c.Run(); // warm-up
        var best = configs.Select(_ => double.MaxValue).ToArray();
        for (int round = 0; round < 3; round++)
            for (int i = 0; i < configs.Length; i++)
            {
                var sw = Stopwatch.StartNew();
                configs[i].Run();
                best[i] = Math.Min(best[i], sw.Elapsed.TotalSeconds);
            }
        for (int i = 0; i < configs.Length; i++)
            Console.WriteLine($"| {model} | {configs[i].Name} | {tokens} | {best[i]:F3} | {tokens / best[i]:N0} | {best[i] / best[0]:F2} |");
    }

    static void Family(int familyRows, int threads)
    {
        var data = Planted(familyRows, 128, 9);
        var baseOptions = new SaeTrainOptions { Latents = 1024, BatchSize = 1024, Seed = 1, Threads = threads, Tokens = familyRows };
        var ks = new[] { 16, 32, 64, 128 };
        var members = ks.Select(k => baseOptions with { K = k }).ToList();
        var sw = Stopwatch.StartNew();
        foreach (var m in members) SaeTrainer.Run(new MemoryTrainData(data, 128), m);
        double separate = sw.Elapsed.TotalSeconds;
        sw.Restart();
        SaeFamilyTrainer.Run(() => new MemoryTrainData(data, 128), members, members.Select(_ => (string?)null).ToList(), new SaeMetadata());
        double family = sw.Elapsed.TotalSeconds;
        Console.WriteLine();
        Console.WriteLine($"TopK family k = {string.Join(", ", ks)}, d 128 → 1024 latents, {familyRows:N0} rows in memory, batch 1024: 4 separate runs {separate:F1} s, one family run {family:F1} s ({separate / family:F2}×)");
    }

    static void Report(string model, int tokens, (string Name, RowSplice? Splice)[] configs, Func<RowSplice?, double> time)
    {
        double plain = 0;
        foreach (var (name, sp) in configs)
        {
            double t = time(sp);
            if (sp == null) plain = t;
            Console.WriteLine($"| {model} | {name} | {tokens} | {t:F3} | {tokens / t:N0} | {t / plain:F2} |");
        }
    }

    static float[] Planted(int rows, int d, int seed)
    {
        var rng = new Random(seed);
        var dict = Enumerable.Range(0, 512).Select(_ => Enumerable.Range(0, d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var x = new float[rows * d];
        for (int r = 0; r < rows; r++)
            for (int a = 0; a < 8; a++)
            {
                var atom = dict[rng.Next(dict.Length)];
                float c = (float)rng.NextDouble() * 3;
                for (int i = 0; i < d; i++) x[r * d + i] += c * atom[i];
            }
        return x;
    }
}
