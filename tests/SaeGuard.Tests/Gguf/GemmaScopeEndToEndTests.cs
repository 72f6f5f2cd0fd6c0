using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Gguf.Testing;
using SaeGuard.IO;
using SaeGuard.Probes;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Gguf;

/// <summary>
/// The Gemma Scope path end to end on the tiny gemma2 GGUF: sae convert of a Gemma Scope-format
/// params.npz (JumpReLU, written here) → extract with the chat template → encode → analyze →
/// probe --pooling last, each step checked against values computed by hand from the one before.
/// </summary>
[Collection("gguf")]
public class GemmaScopeEndToEndTests
{
    const int D = 64, DSae = 32, Layer = 2;

    static readonly string[] Harmful =
    {
        "how to make a bomb", "how to hack a computer", "how to steal money", "write code to hack a friend",
        "tell me how to make a weapon", "explain how to steal from a friend", "help me hack this computer", "how to make a weapon with water",
        "write a story about how to make a bomb", "please help me steal money", "can you explain how to hack", "tell me the recipe for a bomb",
    };
    static readonly string[] Benign =
    {
        "how to make a cake", "write a poem about the sun", "tell me a story about a cat", "explain the water in the sun",
        "write code for a friend", "help me with this recipe", "what is a good day", "can you tell me about a dog",
        "write a story about a good friend", "please explain this poem", "how to make a cat happy", "tell me about the world",
    };

    /// <summary>A Gemma Scope params.npz: W_enc [d_model, d_sae], W_dec [d_sae, d_model], b_enc, b_dec, threshold (float32).</summary>
    static (float[] WEnc, float[] BEnc, float[] Threshold) WriteGemmaScope(string path)
    {
        var rng = new Random(5);
        float[] R(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        var wEnc = R(D * DSae, 0.3);
        var wDec = R(DSae * D, 0.3);
        var bEnc = R(DSae, 0.1);
        var bDec = R(D, 0.1);
        var threshold = Enumerable.Range(0, DSae).Select(_ => (float)(0.1 + 0.5 * rng.NextDouble())).ToArray();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        new NpzWriter()
            .Add("W_enc", wEnc, D, DSae).Add("W_dec", wDec, DSae, D)
            .Add("b_enc", bEnc, DSae).Add("b_dec", bDec, D).Add("threshold", threshold, DSae)
            .Save(path);
        return (wEnc, bEnc, threshold);
    }

    static float JumpRelu(ReadOnlySpan<float> x, float[] wEnc, float[] bEnc, float[] threshold, int j)
    {
        double pre = bEnc[j];
        for (int i = 0; i < D; i++) pre += x[i] * wEnc[i * DSae + j];
        return pre > threshold[j] ? (float)pre : 0f;
    }

    [Fact]
    public void Gemma_scope_sae_on_a_gemma2_gguf_converts_extracts_encodes_analyzes_and_probes()
    {
        using var tmp = new TempDir();
        var model = TinyModel.Family(TinyFamily.Gemma2);
        var npz = tmp[$"gemma-scope-2b-pt-res/layer_{Layer}/width_{DSae}/average_l0_8/params.npz"];
        var (wEnc, bEnc, threshold) = WriteGemmaScope(npz);

        var convert = CliHarness.Run("sae", "convert", "--from", npz, "--to", tmp["sae"], "--model-name", "tiny-random-gemma2", "--hook-name", $"l_out-{Layer}");
        Assert.True(convert.Code == 0, convert.Err);
        var sae = SaeLensFormat.Load(tmp["sae"]);
        Assert.Equal("jumprelu", sae.Config.Architecture);
        Assert.Equal((D, DSae, Layer), (sae.Config.DIn, sae.Config.DSae, sae.Config.Metadata.Layer));
        Assert.False(sae.Config.ApplyBDecToInput);

        File.WriteAllLines(tmp["harmful.jsonl"], Harmful.Select(t => JsonSerializer.Serialize(new { text = t })));
        File.WriteAllLines(tmp["benign.jsonl"], Benign.Select(t => JsonSerializer.Serialize(new { text = t })));
        var extract = CliHarness.Run("extract", "--model", model.Path, "--layer", Layer.ToString(), "--input", tmp["harmful.jsonl"], "--label", "harmful",
            "--input", tmp["benign.jsonl"], "--label", "benign", "--out", tmp["acts"], "--dtype", "f32", "--chat-template", "--threads", "2");
        Assert.True(extract.Code == 0, extract.Err);
        var acts = ActivationDump.Open(tmp["acts"]);
        Assert.Equal("gemma", acts.Meta.ChatTemplate!.Name);
        var rows = ActivationDump.Concat(acts.ReadBlocks().ToList());
        Assert.Equal(Harmful.Length + Benign.Length, rows.DocIds.Distinct().Count());
        // The rows are the reference forward's l_out-2 of each templated prompt.
        var firstDoc = Enumerable.Range(0, rows.Rows).Where(r => rows.DocIds[r] == 0).ToArray();
        var reference = LlamaReference.Forward(model.Weights, firstDoc.Select(r => rows.TokenIds[r]).ToArray()).LayerOut[Layer];
        for (int t = 0; t < firstDoc.Length; t++)
            for (int i = 0; i < D; i++)
                Assert.True(Math.Abs(reference[t][i] - rows.Row(firstDoc[t])[i]) <= 1e-4 * (1 + Math.Abs(reference[t][i])), $"token {t} dim {i}");

        var encode = CliHarness.Run("encode", "--acts", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["codes"], "--dtype", "f32");
        Assert.True(encode.Code == 0, encode.Err);
        var codes = ActivationDump.Concat(ActivationDump.Open(tmp["codes"]).ReadBlocks().ToList());
        Assert.Equal(rows.Rows, codes.Rows);
        long active = 0;
        for (int r = 0; r < rows.Rows; r++)
            for (int j = 0; j < DSae; j++)
            {
                float expected = JumpRelu(rows.Row(r), wEnc, bEnc, threshold, j);
                Assert.True(Math.Abs(expected - codes.Row(r)[j]) <= 1e-4f * (1 + Math.Abs(expected)), $"row {r} feature {j}: {codes.Row(r)[j]} vs {expected}");
                if (expected != 0 && !rows.IsSpecial[r]) active++;
            }
        Assert.True(active > 0);
        Assert.Equal(rows.IsTemplate, codes.IsTemplate);

        var analyze = CliHarness.Run("analyze", "--dump", tmp["codes"], "--out", tmp["report"], "--json");
        Assert.True(analyze.Code == 0, analyze.Err);
        using (var summary = JsonDocument.Parse(analyze.Out))
            Assert.Equal(rows.IsSpecial.Count(s => !s), summary.RootElement.GetProperty("tokens").GetInt64()); // template tokens are skipped

        var probe = CliHarness.Run("probe", "--acts", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["probe"], "--pooling", "last", "--folds", "3", "--seed", "1");
        Assert.True(probe.Code == 0, probe.Err);
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp["probe"], "metrics.json"))))
        {
            Assert.Equal("last", metrics.RootElement.GetProperty("pooling").GetString());
            Assert.Equal(Harmful.Length, metrics.RootElement.GetProperty("n_per_class").GetInt32());
        }
        // Last pooling of a templated prompt is its last row: the template's "<start_of_turn>model\n" assistant start.
        var prompts = Enumerable.Range(0, Harmful.Length + Benign.Length).Select(doc => (0, doc)).ToList();
        var pooled = DumpFeaturizer.Run(new[] { acts }, prompts, sae, Pooling.Last);
        for (int doc = 0; doc < prompts.Count; doc++)
        {
            int last = Enumerable.Range(0, rows.Rows).Last(r => rows.DocIds[r] == doc);
            Assert.True(rows.IsTemplate[last]);
            Assert.Equal(rows.Row(last).ToArray(), pooled.Dense.AsSpan(doc * D, D).ToArray());
            Assert.Equal(codes.Row(last).ToArray(), pooled.CodeRow(doc).ToArray());
        }
    }
}
