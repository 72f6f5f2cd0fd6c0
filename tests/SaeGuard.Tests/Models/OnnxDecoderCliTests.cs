using SaeGuard.Activations;
using SaeGuard.Models;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Models;

public class OnnxDecoderCliTests
{
    [Fact]
    public void List_layers_prints_the_range_and_the_tensor_of_every_layer()
    {
        var (code, stdout, err) = CliHarness.Run("extract", "--list-layers", "--model", OnnxDecoderFixtures.Dir("llama", "model.onnx"));
        Assert.True(code == 0, err);
        Assert.Contains("decoder (pre-norm)", stdout);
        Assert.Contains("layers 0–2 (3)", stdout);
        var g = new OnnxGraph(File.ReadAllBytes(OnnxDecoderFixtures.Dir("llama", "model.onnx")));
        foreach (var t in OnnxBlocks.Locate(g, "m").Tensors) Assert.Contains(t!, stdout);
    }

    [Fact]
    public void A_graph_without_blocks_is_exit_1_naming_what_was_looked_for()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["in.txt"], "text\n");
        var model = OnnxDecoderFixtures.Dir("noblocks", "model.onnx");
        var (code, _, err) = CliHarness.Run("extract", "--model", model, "--tokenizer", OnnxDecoderFixtures.Dir("gpt2"), "--input", tmp["in.txt"], "--out", tmp["o"]);
        Assert.Equal(1, code);
        foreach (var s in new[] { "model.onnx", "LayerNormalization", "RMSNorm", "SkipSimplifiedLayerNormalization", "--hook-tensor" }) Assert.Contains(s, err);
        Assert.False(Directory.Exists(tmp["o"]));
        var (code2, _, err2) = CliHarness.Run("extract", "--list-layers", "--model", model);
        Assert.Equal(1, code2);
        Assert.Contains("RMSNorm", err2);
    }

    [Fact]
    public void Extract_with_the_tokenizer_beside_the_model_and_its_chat_template_writes_the_block_rows()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["in.txt"], "Hello world\nHow do I make a cake?\n");
        var model = OnnxDecoderFixtures.Dir("gpt2", "model.onnx");
        // a bare --chat-template (the old GGUF switch) means auto
        var (code, _, err) = CliHarness.Run("extract", "--model", model, "--layer", "1", "--input", tmp["in.txt"], "--out", tmp["o"], "--dtype", "f32", "--threads", "1", "--chat-template");
        Assert.True(code == 0, err);
        var dump = ActivationDump.Open(tmp["o"]);
        using var tok = HfTextTokenizer.FromFile(OnnxDecoderFixtures.Dir("gpt2"), SaeGuard.Models.ChatTemplates.ChatTemplateChoice.Auto);
        var texts = new[] { "Hello world", "How do I make a cake?" };
        Assert.Equal(texts.Sum(t => tok.Encode(t, 64).Length), (int)dump.NTokens);
        using var source = OnnxModelOpener.Open(model, 1, chatTemplate: SaeGuard.Models.ChatTemplates.ChatTemplateChoice.Auto, threads: 1);
        var expected = source.Run(texts.Select(source.Tokenize).ToList()).SelectMany(x => x).ToArray();
        var rows = dump.ReadBlocks().SelectMany(b => b.Data.Take(b.Rows * b.D)).ToArray();
        Assert.Equal(expected.Length, rows.Length);
        for (int i = 0; i < rows.Length; i++) Assert.True(Math.Abs(rows[i] - expected[i]) < 1e-5);
        var special = dump.ReadBlocks().SelectMany(b => b.IsSpecial.Take(b.Rows)).ToArray();
        Assert.Equal(texts.SelectMany(t => tok.Encode(t, 64).IsSpecial), special);
    }

    [Fact]
    public void A_fused_norm_that_hides_the_last_residual_sum_is_named()
    {
        var model = OnnxDecoderFixtures.Dir("fused_nosum", "model.onnx");
        var (code, stdout, err) = CliHarness.Run("extract", "--list-layers", "--model", model);
        Assert.True(code == 0, err);
        Assert.Contains("layer 1: s4", stdout);
        Assert.Contains("layer 2: (not exposed by fused node norm6)", stdout);
        using var tmp = new TempDir();
        File.WriteAllText(tmp["in.txt"], "Hello\n");
        var (code2, _, err2) = CliHarness.Run("extract", "--model", model, "--tokenizer", OnnxDecoderFixtures.Dir("llama"), "--layer", "2", "--input", tmp["in.txt"], "--out", tmp["o"]);
        Assert.Equal(1, code2);
        Assert.Contains("norm6", err2);
        Assert.Contains("--hook-tensor", err2);
    }

    [Fact]
    public void An_unknown_chat_template_name_is_exit_1()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["in.txt"], "text\n");
        var (code, _, err) = CliHarness.Run("extract", "--model", OnnxDecoderFixtures.Dir("gpt2", "model.onnx"), "--chat-template", "vicuna", "--input", tmp["in.txt"], "--out", tmp["o"]);
        Assert.Equal(1, code);
        Assert.Contains("vicuna", err);
    }
}
