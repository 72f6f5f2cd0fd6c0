using System.Text.Json;
using SaeGuard.Eval;
using SaeGuard.Gguf;
using SaeGuard.Models;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Gguf;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Eval;

[Collection("gguf")]
public class GgufSpliceTests
{
    const int Layer = 1;

    static readonly string[] Texts =
    {
        "hello world, how to make a cake",
        "write a poem about the sun and water",
        "can you help me with this code?",
        "tell me a story about a cat",
    };

    static GgufSplicer Open(GgufOptions? o = null) => new(TinyModel.Path, Layer, o ?? new GgufOptions { Threads = 2 });

    static void AssertClose(float[] expected, float[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"{what}: value {i}: {actual[i]} vs {expected[i]}");
    }

    [Fact]
    public void Splicing_the_activations_themselves_reproduces_the_clean_logits()
    {
        using var s = Open();
        var docs = Texts.Select(s.Tokenize).ToList();
        var hooked = new float[docs.Count][];
        var clean = s.Forward(docs, null, hooked);
        int calls = 0;
        var same = s.Forward(docs, (rows, d, p) => calls++);
        Assert.True(calls > 0);
        for (int i = 0; i < docs.Count; i++) AssertClose(clean[i], same[i], 1e-5, $"doc {i} logits");
        // the clean forward is llama.cpp's: it matches the float64 reference, hooked rows included
        var reference = LlamaReference.Forward(TinyModel.Weights, docs[0].Ids);
        AssertClose(reference.Logits.SelectMany(r => r.Select(v => (float)v)).ToArray(), clean[0], 1e-4, "logits vs reference");
        AssertClose(reference.LayerOut[Layer].SelectMany(r => r.Select(v => (float)v)).ToArray(), hooked[0], 1e-4, "l_out vs reference");
    }

    [Fact]
    public void Splicing_zeros_equals_the_reference_forward_with_that_layer_zeroed()
    {
        using var s = Open(new GgufOptions { Threads = 2, Batch = 8, MicroBatch = 3 }); // splices across decode calls and micro-batches
        var docs = Texts.Take(2).Select(s.Tokenize).ToList();
        var zero = s.Forward(docs, (rows, _, _) => rows.Clear());
        var clean = s.Forward(docs, null);
        for (int i = 0; i < docs.Count; i++)
        {
            var reference = LlamaReference.Forward(TinyModel.Weights, docs[i].Ids, rewrite: (l, rows) => { if (l == Layer) foreach (var r in rows) Array.Clear(r); });
            AssertClose(reference.Logits.SelectMany(r => r.Select(v => (float)v)).ToArray(), zero[i], 1e-4, $"doc {i} zero-spliced logits");
            Assert.True(zero[i].Zip(clean[i]).Max(p => Math.Abs(p.First - p.Second)) > 0.1, "zeroing the layer must change the logits");
        }
    }

    [Fact]
    public void Splice_sees_each_row_once_with_its_document_and_position()
    {
        using var s = Open(new GgufOptions { Threads = 2, Batch = 8, MicroBatch = 3 });
        var docs = Texts.Select(s.Tokenize).ToList();
        var seen = new List<(int, int)>();
        s.Forward(docs, (rows, d, p) => { for (int i = 0; i < d.Length; i++) seen.Add((d[i], p[i])); });
        var expected = docs.SelectMany((doc, i) => Enumerable.Range(0, doc.Length).Select(t => (i, t))).ToList();
        Assert.Equal(expected, seen);
    }

    /// <summary>Hooked rows of layer 1 on a few hundred generated sentences, for training a small SAE.</summary>
    static float[] TrainingRows()
    {
        var words = "the a cat dog sun water code story poem cake make how write tell help me you with this about and to of in on is was big small red blue run jump eat read".Split(' ');
        var rng = new Random(3);
        using var src = new GgufActivationSource(TinyModel.Path, Layer, new GgufOptions { Threads = 2 });
        var texts = Enumerable.Range(0, 300).Select(_ => string.Join(' ', Enumerable.Range(0, 6 + rng.Next(10)).Select(_ => words[rng.Next(words.Length)]))).ToList();
        var toks = texts.Select(src.Tokenize).ToList();
        var rows = src.Run(toks);
        var data = new List<float>();
        for (int i = 0; i < toks.Count; i++)
            for (int t = 1; t < toks[i].Length; t++) data.AddRange(rows[i].AsSpan(t * 64, 64).ToArray());
        return data.ToArray();
    }

    [Fact]
    public void Trained_sae_recovers_part_of_the_loss_its_error_term_all_and_a_tenfold_scale_far_less()
    {
        using var s = Open();
        var data = SampledRows(s, 120, 4);
        var trained = SaeTrainer.Train(data, 64, new SaeTrainOptions { K = 8, Latents = 256, Tokens = 60_000, BatchSize = 512, Seed = 1, Threads = 2 });
        var wrong = SpliceTestKit.WrongDecoderScale(trained, 10f);
        var lens = SpliceTestKit.WrongDecoderScale(trained, 1000f);
        var random = SpliceTestKit.RandomSae(64, 256, 8, 5);
        var docs = SpliceEvalDocs(s);
        var run = SpliceEvaluator.Run(s, new[] { trained, random, wrong, lens }, docs, new EvalOptions());
        double Score(SaeSpliceRun r) => (run.Zero.Ce.Mean - r.WithSae.Ce.Mean) / (run.Zero.Ce.Mean - run.Clean.Ce.Mean);
        double KlScore(SaeSpliceRun r) => (run.Zero.Kl.Mean - r.WithSae.Kl.Mean) / run.Zero.Kl.Mean;
        double good = Score(run.Saes[0]), rand = Score(run.Saes[1]), bad = Score(run.Saes[2]);
        double klGood = KlScore(run.Saes[0]), klRand = KlScore(run.Saes[1]), klBad = KlScore(run.Saes[2]), klLens = KlScore(run.Saes[3]);
        string all = $"ce_loss_score trained {good}, random {rand}, decoder folded ×10 {bad}, ×1000 {Score(run.Saes[3])}; kl_div_score {klGood}, {klRand}, {klBad}, {klLens}";
        Assert.True(good > 0.2 && good < 1 && klGood > 0.2 && klGood < 1, all);
        Assert.True(good > rand + 0.5 && klGood > klRand + 0.5, all);
        // The same SAE with x̂ 10× too large. Every later read of the stream is RMS-normed, so a too-large x̂
        // only drowns the writes of the blocks after the splice: ×1000 ≈ the logit lens of x̂ bounds what
        // any too-large scale can cost. Here (2 blocks after block 1) ×10 costs most of that bound, on
        // CE as on KL: on the model's own samples E[CE_q − CE_clean] = KL(p ‖ q), so the two scores agree.
        Assert.True(bad < good - 0.15 && klBad < klGood - 0.15, all);
        Assert.True(klLens - 0.02 <= klBad && klGood - klBad > 0.5 * (klGood - klLens), all);
        Assert.True(Math.Abs(good - klGood) < 0.15 && Math.Abs(bad - klBad) < 0.15, all); // CE: sampled, SE ≈ 0.03 in score here
        foreach (var r in run.Saes)
        {
            Assert.True(Math.Abs(r.WithSaeAndError.Ce.Mean - run.Clean.Ce.Mean) < 1e-4, $"CE sae+error {r.WithSaeAndError.Ce.Mean} vs clean {run.Clean.Ce.Mean}");
            Assert.True(r.WithSaeAndError.Kl.Mean < 1e-6, $"KL sae+error {r.WithSaeAndError.Kl.Mean}");
        }
        Assert.True(run.Zero.Ce.Mean > run.Clean.Ce.Mean);
        // counted predictions: every position whose token is not special (BOS), CE also not at the last one
        Assert.Equal(docs.Sum(d => Enumerable.Range(0, d.Tokens.Length - 1).Count(t => !d.Tokens.IsSpecial[t])), run.Clean.Ce.Count);
        Assert.Equal(docs.Sum(d => d.Tokens.IsSpecial.Count(x => !x)), run.Saes[0].WithSae.Kl.Count);
        // SAEBench core on the spliced rows agrees with the training evaluator's definitions
        var (rq, shrink, sparsity, density) = run.Saes[0].Rows.Finish();
        Assert.InRange(sparsity.L0, 7.5, 8.0);
        Assert.InRange(rq.ExplainedVariance, 0.5, 1.0);
        Assert.InRange(rq.Cossim, 0.7, 1.0);
        Assert.InRange(shrink.RelativeReconstructionBias, 0.7, 1.3);
        Assert.InRange(density.FracAlive, 0.05, 1.0);
    }

    /// <summary>Documents sampled from the clean model itself (see <see cref="SpliceTestKit.Samples"/>), labelled alternately.</summary>
    static List<EvalDoc> SpliceEvalDocs(GgufSplicer s) =>
        Samples(s, 24, 11).Select((t, i) => new EvalDoc(t, i % 2)).ToList();

    static List<TokenizedText> Samples(GgufSplicer s, int count, int seed) => SpliceTestKit.Samples(s, count, seed, 1, s.Model.IsSpecial);

    static float[] SampledRows(GgufSplicer s, int count, int seed) => SpliceTestKit.HookedRows(s, Samples(s, count, seed));

    [Fact]
    public void Eval_cli_writes_eval_json_the_report_and_a_summary_beside_the_sae()
    {
        using var tmp = new TempDir();
        var data = TrainingRows();
        var sae = SaeTrainer.Train(data, 64, new SaeTrainOptions { K = 8, Latents = 128, Tokens = 20_000, BatchSize = 512, Seed = 2, Threads = 2 });
        SaeLensFormat.Save(sae.WithConfig(sae.Config with { Metadata = sae.Config.Metadata with { Layer = 1 } }), tmp["sae"]);
        var corpus = tmp["docs.jsonl"];
        File.WriteAllLines(corpus, Texts.Concat(Texts).Select((t, i) => JsonSerializer.Serialize(new { text = t + (i > 3 ? " again" : ""), label = i % 2 == 0 ? "harmful" : "benign" })));
        var (code, _, err) = CliHarness.Run("eval", "--sae", tmp["sae"], "--model", TinyModel.Path, "--layer", "1", "--input", corpus, "--out", tmp["eval"], "--threads", "2", "--label-column", "label");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["eval/eval.json"]));
        var first = doc.RootElement.GetProperty("saes")[0];
        double score = first.GetProperty("model_performance_preservation").GetProperty("ce_loss_score").GetDouble();
        Assert.InRange(score, -5, 1.5);
        Assert.True(first.GetProperty("misc").TryGetProperty("freq_over_1_percent", out _));
        Assert.Equal(6, first.GetProperty("sparse_probing").GetProperty("k").GetArrayLength());
        Assert.Contains("except special", doc.RootElement.GetProperty("convention").GetProperty("spliced_positions").GetString());
        Assert.True(File.Exists(tmp["eval/report.html"]));
        Assert.True(File.Exists(tmp["eval/01_l0_vs_spliced_score.png"]));
        var summary = EvalRunner.ReadSummary(tmp["sae"]);
        Assert.NotNull(summary);
        Assert.Equal(score, summary!.CeLossScore!.Value, 12);
    }

    [Fact]
    public void Eval_cli_refuses_bad_input_with_a_message_and_writes_nothing()
    {
        using var tmp = new TempDir();
        var corpus = tmp["docs.jsonl"];
        File.WriteAllLines(corpus, Texts.Select(t => JsonSerializer.Serialize(new { text = t })));
        var narrow = SpliceTestKit.RandomSae(32, 64, 4, 1);
        SaeLensFormat.Save(narrow, tmp["narrow"]);
        var (code, _, err) = CliHarness.Run("eval", "--sae", tmp["narrow"], "--model", TinyModel.Path, "--layer", "1", "--input", corpus, "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("reads vectors of 32 values", err);
        Assert.False(Directory.Exists(tmp["out"]));
        SaeLensFormat.Save(SpliceTestKit.RandomSae(64, 64, 4, 1), tmp["sae"]);
        (code, _, err) = CliHarness.Run("eval", "--sae", tmp["sae"], "--model", TinyModel.Path, "--layer", "3", "--input", corpus, "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("cannot be spliced", err);
        (code, _, err) = CliHarness.Run("eval", "--sae", tmp["missing"], "--model", TinyModel.Path, "--input", corpus, "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("SAE folder not found", err);
        Assert.False(Directory.Exists(tmp["out"]));
    }
}
