using Microsoft.ML.OnnxRuntime;
using SaeGuard.Models;

namespace SaeGuard.Tests.Models;

public class HiddenStateTests : IClassFixture<MiniLmFixture>
{
    readonly MiniLmFixture _m;
    public HiddenStateTests(MiniLmFixture m) => _m = m;

    static readonly string[] Sentences =
    {
        "The quick brown fox jumps over the lazy dog.",
        "How do I bake sourdough bread at home?",
        "Write a poem about the sea.",
    };

    [Fact]
    public void Graph_has_six_post_ln_blocks_and_layer3_is_node_662()
    {
        var src = _m.Layer(3);
        Assert.Equal(13, src.LayerNorms.Count);
        Assert.Equal(6, src.LayerCount);
        Assert.Equal("662", src.TensorName);
        Assert.Equal(384, src.Width);
    }

    [Fact]
    public void Last_layer_equals_the_models_own_last_hidden_state()
    {
        var src = _m.Layer(5);
        var toks = Sentences.Select(src.Tokenize).ToList();
        var ours = src.Run(toks);

        // An independent plain session on the unmodified model, asking for last_hidden_state.
        using var plain = new InferenceSession(BuiltInModels.MiniLmOnnx);
        for (int s = 0; s < toks.Count; s++)
        {
            var t = toks[s];
            var shape = new long[] { 1, t.Length };
            using var ids = OrtValue.CreateTensorValueFromMemory(t.Ids.Select(i => (long)i).ToArray(), shape);
            using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, t.Length).ToArray(), shape);
            using var types = OrtValue.CreateTensorValueFromMemory(new long[t.Length], shape);
            using var runOptions = new RunOptions();
            using var res = plain.Run(runOptions, new[] { "input_ids", "attention_mask", "token_type_ids" }, new[] { ids, mask, types }, new[] { "last_hidden_state" });
            var expected = res[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.Equal(expected.Length, ours[s].Length);
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - ours[s][i]) < 1e-4, $"sentence {s}, value {i}: {expected[i]} vs {ours[s][i]}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4)]
    public void Intermediate_layer_rows_are_layernorm_outputs(int layer)
    {
        var src = _m.Layer(layer);
        var site = LayerNormLocator.BlockOutputs(src.LayerNorms.ToList())![layer];
        var gamma = src.Graph.InitializerFloats(site.Gamma);
        var beta = src.Graph.InitializerFloats(site.Beta);
        var toks = Sentences.Select(src.Tokenize).ToList();
        var outs = src.Run(toks);
        int d = src.Width;
        for (int s = 0; s < outs.Count; s++)
            for (int r = 0; r < toks[s].Length; r++)
            {
                var u = new double[d];
                for (int j = 0; j < d; j++) u[j] = (outs[s][r * d + j] - (double)beta[j]) / gamma[j];
                double mean = u.Average();
                double var = u.Select(x => (x - mean) * (x - mean)).Average();
                Assert.True(Math.Abs(mean) < 1e-5, $"layer {layer}, sentence {s}, token {r}: mean {mean}");
                Assert.True(Math.Abs(var - 1) < 1e-4, $"layer {layer}, sentence {s}, token {r}: variance {var}");
            }
    }

    [Fact]
    public void A_sentence_alone_or_inside_a_padded_batch_gives_the_same_rows()
    {
        var src = _m.Layer(4);
        var shortOne = src.Tokenize("Hi there.");
        var longOne = src.Tokenize("This is a considerably longer sentence, so the short one is padded in the batch.");
        var alone = src.Run(new[] { shortOne })[0];
        var batched = src.Run(new[] { longOne, shortOne })[1];
        Assert.Equal(alone.Length, batched.Length);
        for (int i = 0; i < alone.Length; i++) Assert.True(Math.Abs(alone[i] - batched[i]) < 1e-4, $"value {i}: {alone[i]} vs {batched[i]}");
    }

    [Fact]
    public void Layer_out_of_range_is_a_user_error()
    {
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => BuiltInModels.MiniLm(6));
        Assert.Contains("0–5", e.Message);
    }
}
