using System.Text.Json;
using SaeGuard.Eval;
using SaeGuard.IO;
using SaeGuard.Models;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Models;

namespace SaeGuard.Tests.Eval;

/// <summary>
/// ONNX decoders (the GPT-2 and Llama fixtures of make_onnx_decoders.py) split at a block's residual
/// tensor: the suffix graph reproduces the whole model, and splices equal the float64 torch forward
/// with that block's output rewritten (make_onnx_splice_fixture.py).
/// </summary>
public class OnnxDecoderSpliceTests
{
    static string ModelPath(string model) => OnnxDecoderFixtures.Dir(model, "model.onnx");

    static OnnxSplicedModel Open(string model, int layer) => OnnxSplicedModel.Open(ModelPath(model), layer, null, 2, null);

    /// <summary>The fixture texts tokenized by the model's own tokenizer (checked against the ids the reference used).</summary>
    static List<TokenizedText> FixtureDocs(OnnxSplicedModel s, string model, int take = int.MaxValue)
    {
        var (cases, _, _, _, _) = OnnxDecoderFixtures.Expected(model);
        var docs = cases.Take(take).Select(c => s.Tokenize(c.Text)).ToList();
        for (int i = 0; i < docs.Count; i++) Assert.Equal(cases[i].Ids, docs[i].Ids);
        return docs;
    }

    /// <summary>Float64 reference logits [variant, case, t, vocab] and the variants' names.</summary>
    static (float[] Logits, string[] Variants, int Cases, int T, int V) Reference(string model)
    {
        var dir = Path.Combine(TestPaths.RepoRoot, "tests", "SaeGuard.Tests", "Fixtures", "eval", "onnx-splice");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, model + ".json")));
        var variants = doc.RootElement.GetProperty("variants").EnumerateArray().Select(v => v.GetString()!).ToArray();
        var (data, shape) = NpyReader.ReadFloat32(Path.Combine(dir, model + ".npy"));
        return (data, variants, (int)shape[1], (int)shape[2], (int)shape[3]);
    }

    /// <summary>Per position: |got − expected| ≤ tol × max(1, max |expected| at that position).</summary>
    static void AssertLogits(ReadOnlySpan<float> expected, float[] got, int tokens, int v, double tol, string what)
    {
        Assert.Equal(tokens * v, got.Length);
        for (int t = 0; t < tokens; t++)
        {
            double scale = 1;
            for (int k = 0; k < v; k++) scale = Math.Max(scale, Math.Abs(expected[t * v + k]));
            for (int k = 0; k < v; k++)
                Assert.True(Math.Abs(got[t * v + k] - expected[t * v + k]) <= tol * scale, $"{what}: token {t} logit {k}: {got[t * v + k]} vs {expected[t * v + k]}");
        }
    }

    [Theory]
    [InlineData("gpt2", 0)]
    [InlineData("gpt2", 1)]
    [InlineData("gpt2", 2)]
    [InlineData("llama", 0)]
    [InlineData("llama", 1)]
    [InlineData("llama", 2)]
    public void Identity_splice_reproduces_the_whole_models_logits(string model, int layer)
    {
        using var s = Open(model, layer);
        Assert.Equal(SpliceOutput.Logits, s.Output);
        Assert.Equal("logits", s.OutputTensor);
        using var full = new OnnxTransformerSource(File.ReadAllBytes(ModelPath(model)), model, OnnxDecoderFixtures.Tokenizer(model == "gpt2" ? "gpt2" : "llama2"), 0, threads: 2, maxLength: 64, hookTensor: "logits");
        Assert.Equal(full.Width, s.OutputWidth);
        var docs = FixtureDocs(s, model);
        var hooked = new float[docs.Count][];
        var clean = s.Forward(docs, null, hooked);
        int calls = 0;
        var identity = s.Forward(docs, (rows, _, _) => calls++);
        Assert.Equal(1, calls);
        for (int i = 0; i < docs.Count; i++)
        {
            var whole = full.Run(new[] { docs[i] })[0]; // alone: no padding
            foreach (var (got, what) in new[] { (clean[i], "clean"), (identity[i], "identity") })
                AssertLogits(whole, got, docs[i].Length, s.OutputWidth, 1e-5, $"{model} layer {layer} doc {i} {what}");
            Assert.Equal(docs[i].Length * s.Width, hooked[i].Length);
        }
        // the prefix rows kept from the last call are reused only for the same documents
        var list = new List<TokenizedText>(docs);
        s.Forward(list, null);
        list[0] = docs[1];
        AssertLogits(clean[1], s.Forward(list, null)[0], docs[1].Length, s.OutputWidth, 1e-5, "after the list changed");
        // and the split model is the float64 torch forward
        var (reference, variants, cases, tmax, v) = Reference(model);
        for (int c = 0; c < cases; c++)
            AssertLogits(reference.AsSpan((Array.IndexOf(variants, "clean") * cases + c) * tmax * v), clean[c], docs[c].Length, v, 1e-4, $"{model} doc {c} vs float64");
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Zero_and_scaled_splices_equal_the_float64_forward_with_that_block_rewritten(string model)
    {
        var (reference, variants, cases, tmax, v) = Reference(model);
        for (int layer = 0; layer < 3; layer++)
        {
            using var s = Open(model, layer);
            var docs = FixtureDocs(s, model, cases); // one batch: the short text is padded
            var clean = s.Forward(docs, null);
            var zero = s.Forward(docs, (rows, _, _) => rows.Clear());
            var half = s.Forward(docs, (rows, _, pos) =>
            {
                for (int r = 0; r < pos.Length; r++)
                    if (pos[r] >= 1) foreach (ref var x in rows.Slice(r * s.Width, s.Width)) x *= 0.5f;
            });
            for (int c = 0; c < cases; c++)
            {
                AssertLogits(reference.AsSpan((Array.IndexOf(variants, $"zero-{layer}") * cases + c) * tmax * v), zero[c], docs[c].Length, v, 1e-4, $"{model} zero-{layer} doc {c}");
                Assert.True(zero[c].Zip(clean[c]).Max(p => Math.Abs(p.First - p.Second)) > 0.1, "zeroing the block must change the logits");
                if (layer == 1)
                    AssertLogits(reference.AsSpan((Array.IndexOf(variants, "half-1-nobos") * cases + c) * tmax * v), half[c], docs[c].Length, v, 1e-4, $"{model} half-1 doc {c}");
            }
        }
    }

    /// <summary>
    /// On documents sampled from the model itself: a trained SAE recovers part of the loss (more than a
    /// random one, less than all), its error term all of it; BOS (Llama) is neither spliced nor counted.
    /// Scale: the same SAE with x̂ ×10 lies between the correct fold and ×1000 (≈ the "logit lens" of x̂:
    /// every later read of the stream is normed, so a too-large x̂ only drowns the writes of the blocks
    /// after the splice). In GPT-2 at block 0 those blocks matter and ×10 is far worse on CE and KL; in the
    /// Llama fixture at block 1 the one block left changes the output little, so no scale error can show.
    /// </summary>
    [Theory]
    [InlineData("gpt2", 0, true)]
    [InlineData("llama", 1, false)]
    public void Trained_sae_recovers_part_of_the_loss_its_error_term_all_and_a_wrong_scale_costs_what_the_later_blocks_write(string model, int layer, bool laterBlocksMatter)
    {
        using var s = Open(model, layer);
        int bos = model == "llama" ? 1 : 0; // GPT-2's tokenizer adds no BOS: sampling starts from token 0
        Func<int, bool> special = model == "llama" ? id => id <= 2 : _ => false; // Llama: <unk>, <s>, </s>
        var data = SpliceTestKit.HookedRows(s, SpliceTestKit.Samples(s, 120, 4, bos, special));
        var trained = SaeTrainer.Train(data, s.Width, new SaeTrainOptions { K = 8, Latents = 256, Tokens = 60_000, BatchSize = 512, Seed = 1, Threads = 2 });
        var saes = new[] { trained, SpliceTestKit.RandomSae(s.Width, 256, 8, 5), SpliceTestKit.WrongDecoderScale(trained, 10f), SpliceTestKit.WrongDecoderScale(trained, 1000f) };
        var docs = SpliceTestKit.Samples(s, 24, 11, bos, special).Select((t, i) => new EvalDoc(t, i % 2)).ToList();
        var run = SpliceEvaluator.Run(s, saes, docs, new EvalOptions());
        double[] ce = run.Saes.Select(r => (run.Zero.Ce.Mean - r.WithSae.Ce.Mean) / (run.Zero.Ce.Mean - run.Clean.Ce.Mean)).ToArray();
        double[] kl = run.Saes.Select(r => (run.Zero.Kl.Mean - r.WithSae.Kl.Mean) / run.Zero.Kl.Mean).ToArray();
        string all = $"ce_loss_score trained, random, ×10, ×1000: {string.Join(", ", ce.Select(v => v.ToString("F3")))}; kl_div_score {string.Join(", ", kl.Select(v => v.ToString("F3")))}";
        Assert.True(ce[0] > 0.2 && ce[0] < 1 && kl[0] > 0.2 && kl[0] < 1, all);
        Assert.True(ce[0] > ce[1] + 0.5 && kl[0] > kl[1] + 0.5, all);
        Assert.True(kl[3] - 0.02 <= kl[2] && kl[2] <= kl[0] + 0.02, all); // ×10 between the correct fold and the logit-lens limit
        if (laterBlocksMatter)
        {
            Assert.True(ce[2] < ce[0] - 0.3 && kl[2] < kl[0] - 0.3, all);
            // on the model's own samples E[CE_q − CE_clean] = KL(p ‖ q): the scores agree up to the sampling error of
            // CE (≈ 0.04 in score at these ~900 tokens; KL is exact per position)
            Assert.True(Math.Abs(ce[0] - kl[0]) < 0.15 && Math.Abs(ce[2] - kl[2]) < 0.15, all);
        }
        else Assert.True(kl[0] - kl[3] < 0.1, all);
        foreach (var r in run.Saes)
        {
            Assert.True(Math.Abs(r.WithSaeAndError.Ce.Mean - run.Clean.Ce.Mean) < 1e-4, $"CE sae+error {r.WithSaeAndError.Ce.Mean} vs clean {run.Clean.Ce.Mean}");
            Assert.True(r.WithSaeAndError.Kl.Mean < 1e-6, $"KL sae+error {r.WithSaeAndError.Kl.Mean}");
        }
        // special tokens (BOS) are neither spliced nor counted; CE is not counted at the last position
        Assert.Equal(docs.Sum(d => Enumerable.Range(0, d.Tokens.Length - 1).Count(t => !d.Tokens.IsSpecial[t])), run.Clean.Ce.Count);
        Assert.Equal(docs.Sum(d => d.Tokens.IsSpecial.Count(x => !x)), run.Saes[0].Rows.Rows);
        Assert.Equal(model == "llama", docs.All(d => d.Tokens.IsSpecial[0]));
    }

    [Fact]
    public void Eval_cli_scores_an_onnx_decoder_and_refuses_a_graph_it_cannot_split()
    {
        using var tmp = new TempDir();
        var sae = SpliceTestKit.RandomSae(48, 96, 4, 2);
        SaeLensFormat.Save(sae.WithConfig(sae.Config with { Metadata = sae.Config.Metadata with { Layer = 1 } }), tmp["sae"]);
        var corpus = tmp["docs.jsonl"];
        var texts = new[] { "How do I make a cake?", "Tell me how to stay safe online.", "The quick brown fox jumps over the lazy dog.", "def f(x): return x" };
        File.WriteAllLines(corpus, texts.Select(t => JsonSerializer.Serialize(new { text = t })));
        var (code, _, err) = CliHarness.Run("eval", "--sae", tmp["sae"], "--model", ModelPath("gpt2"), "--input", corpus, "--out", tmp["eval"], "--threads", "2");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["eval/eval.json"]));
        Assert.Contains("suffix graph to 'logits'", doc.RootElement.GetProperty("hook").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("layer").GetInt32());
        var mp = doc.RootElement.GetProperty("saes")[0].GetProperty("model_performance_preservation");
        Assert.Equal(mp.GetProperty("ce_loss_without_sae").GetDouble(), mp.GetProperty("ce_loss_with_sae_and_error").GetDouble(), 4);
        Assert.True(mp.GetProperty("ce_loss_with_ablation").GetDouble() != mp.GetProperty("ce_loss_without_sae").GetDouble());
        Assert.True(doc.RootElement.GetProperty("saes")[0].TryGetProperty("model_behavior_preservation", out _));
        // GPT-2's tokenizer adds no BOS: every token is spliced and every next-token prediction but the last counted
        using var gpt2 = HfTextTokenizer.FromFile(OnnxDecoderFixtures.Dir("gpt2"));
        Assert.Equal(texts.Sum(t => gpt2.Encode(t, 64).Length - 1), doc.RootElement.GetProperty("saes")[0].GetProperty("token_stats").GetProperty("total_tokens_eval_reconstruction").GetInt32());

        // a fused skip norm makes block 0's sum and the next block's input in one node: no split there
        (code, _, err) = CliHarness.Run("eval", "--sae", tmp["sae"], "--model", OnnxDecoderFixtures.Dir("fused", "model.onnx"), "--tokenizer", OnnxDecoderFixtures.Dir("llama"), "--layer", "0", "--input", corpus, "--out", tmp["fused"]);
        Assert.Equal(1, code);
        Assert.Contains("cannot be split", err);
        Assert.Contains("norm2", err);
        Assert.False(Directory.Exists(tmp["fused"]));
    }
}
