using SaeGuard.Models;

namespace SaeGuard.Tests.Models;

/// <summary>
/// The residual stream after every block of tiny decoders (GPT-2 style, Llama style with GQA and rotary
/// positions, a fused-norm graph) equals the framework forward that made them, alone and in a padded batch.
/// </summary>
public class DecoderHiddenStateTests
{
    [Theory]
    [InlineData("gpt2", "LayerNorm (decomposed)")]
    [InlineData("llama", "RMSNorm (decomposed)")]
    [InlineData("fused", "SimplifiedLayerNormalization")]
    public void Every_block_matches_the_reference_forward_alone_and_in_a_padded_batch(string model, string norm)
    {
        var (cases, hidden, layers, tmax, d) = OnnxDecoderFixtures.Expected(model);
        var bytes = File.ReadAllBytes(OnnxDecoderFixtures.Dir(model, "model.onnx"));
        var tokDir = OnnxDecoderFixtures.Dir(model == "fused" ? "llama" : model); // llama pads with BOS (1), inside the fused vocab
        for (int layer = 0; layer < layers; layer++)
        {
            using var source = new OnnxTransformerSource(bytes, model, HfTextTokenizer.FromFile(tokDir), layer, threads: 1, maxLength: 64);
            Assert.Equal(layers, source.LayerCount);
            Assert.Equal(d, source.Width);
            Assert.Equal("decoder (pre-norm)", source.Info["architecture"]);
            Assert.Contains(norm, source.Info["norm"]);
            var toks = cases.Select(c => new TokenizedText(c.Ids, new bool[c.Ids.Length], false)).ToList();
            var batched = source.Run(toks);
            for (int c = 0; c < cases.Count; c++)
            {
                var alone = source.Run(new[] { toks[c] })[0];
                foreach (var got in new[] { alone, batched[c] })
                {
                    Assert.Equal(toks[c].Length * d, got.Length);
                    for (int t = 0; t < toks[c].Length; t++)
                    {
                        int off = ((c * layers + layer) * tmax + t) * d;
                        double scale = 0;
                        for (int k = 0; k < d; k++) scale = Math.Max(scale, Math.Abs(hidden[off + k]));
                        for (int k = 0; k < d; k++)
                            Assert.True(Math.Abs(got[t * d + k] - hidden[off + k]) <= 1e-4 * Math.Max(scale, 1e-3),
                                $"{model} layer {layer} case {c} token {t} dim {k}: {got[t * d + k]} vs {hidden[off + k]}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void The_fixture_texts_tokenize_to_the_ids_the_reference_forward_used(string model)
    {
        var (cases, _, _, _, _) = OnnxDecoderFixtures.Expected(model);
        using var tok = HfTextTokenizer.FromFile(OnnxDecoderFixtures.Dir(model));
        foreach (var c in cases) Assert.Equal(c.Ids, tok.Encode(c.Text, 256).Ids);
    }

    [Fact]
    public void Position_ids_follow_the_attention_mask_for_left_and_right_padding()
    {
        var mask = new long[] { 0, 0, 1, 1, 1, /* right padded */ 1, 1, 1, 0, 0 };
        Assert.Equal(new long[] { 1, 1, 0, 1, 2, 0, 1, 2, 1, 1 }, DecoderInputs.PositionIds(mask, 2, 5));
    }

    [Fact]
    public void Fused_skip_norms_expose_their_residual_sum_as_the_block_output()
    {
        var g = new OnnxGraph(File.ReadAllBytes(OnnxDecoderFixtures.Dir("fused", "model.onnx")));
        var blocks = OnnxBlocks.Locate(g, "fused");
        // blocks end at the skip norm after each MLP: s2, s4, s6 (output 3 of norm2, norm4, norm6)
        Assert.Equal(new[] { "s2", "s4", "s6" }, blocks.Tensors);
    }
}
