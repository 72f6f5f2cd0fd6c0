using System.Text.Json.Nodes;
using SaeGuard.Features;
using SaeGuard.Gguf;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Features;

/// <summary>The logit lens of decoder rows through a GGUF model's output matrix, against a float64 reference.</summary>
public class LogitLensTests
{
    const int Vocab = 40;

    static (float[] W, string[] Tokens) WriteModel(string path, bool f16, int d = PlantedFeatures.D)
    {
        var rng = new Random(5);
        var w = Enumerable.Range(0, Vocab * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        if (f16) for (int i = 0; i < w.Length; i++) w[i] = (float)(Half)w[i];
        var tokens = Enumerable.Range(0, Vocab).Select(v => $"tok{v}").ToArray();
        new GgufWriter().Add("general.architecture", "llama").Add("tokenizer.ggml.tokens", tokens)
            .AddTensor("output.weight", w, Vocab, d, f16).Save(path);
        return (w, tokens);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Promoted_and_suppressed_tokens_equal_a_float64_reference(bool f16)
    {
        using var tmp = new TempDir();
        var (w, tokens) = WriteModel(tmp["m.gguf"], f16);
        var u = GgufUnembedding.Read(tmp["m.gguf"]);
        Assert.Equal((Vocab, PlantedFeatures.D), (u.Vocab, u.D));
        Assert.Equal(w, u.Weights);
        Assert.Equal(tokens, u.Tokens);
        var sae = PlantedFeatures.Sae();
        var lens = LogitLens.Of(sae, u, k: 5);
        for (int j = 0; j < sae.DSae; j++)
        {
            var logit = Enumerable.Range(0, Vocab).Select(v => Enumerable.Range(0, sae.DIn).Sum(i => (double)sae.WDec[j * sae.DIn + i] * w[v * sae.DIn + i])).ToArray();
            var order = Enumerable.Range(0, Vocab).OrderByDescending(v => logit[v]).ToArray();
            Assert.Equal(order.Take(5).Select(v => tokens[v]), lens[j].PosStr);
            Assert.Equal(order.Reverse().Take(5).Select(v => tokens[v]), lens[j].NegStr);
            for (int i = 0; i < 5; i++) Assert.True(Math.Abs(logit[order[i]] - lens[j].PosValues[i]) < 1e-5, $"feature {j}: {lens[j].PosValues[i]} vs {logit[order[i]]}");
        }
    }

    [Fact]
    public void Features_command_with_a_model_fills_neuronpedia_top_logits_and_refuses_a_wrong_width()
    {
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        WriteModel(tmp["m.gguf"], f16: false);
        var (code, _, err) = CliHarness.Run("features", "--sae", sae, "--acts", acts, "--model", tmp["m.gguf"], "--out", tmp["site"]);
        Assert.True(code == 0, err);
        var expected = LogitLens.Of(PlantedFeatures.Sae(), GgufUnembedding.Read(tmp["m.gguf"]));
        var np = JsonNode.Parse(File.ReadAllText(tmp["site/neuronpedia/2.json"]))!;
        Assert.Equal(expected[2].PosStr, np["pos_str"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(expected[2].NegValues, np["neg_values"]!.AsArray().Select(t => t!.GetValue<double>()));
        WriteModel(tmp["wide.gguf"], f16: false, d: 12);
        (code, _, err) = CliHarness.Run("features", "--sae", sae, "--acts", acts, "--model", tmp["wide.gguf"], "--out", tmp["site2"]);
        Assert.Equal(1, code);
        Assert.Contains("width 12", err);
    }
}
