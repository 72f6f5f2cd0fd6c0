using SaeGuard.Activations;
using SaeGuard.Models;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Models;

public class OnnxFileModelTests
{
    [Fact]
    public void An_onnx_file_with_its_vocab_beside_it_extracts_like_the_built_in_model()
    {
        using var tmp = new TempDir();
        var modelDir = Directory.CreateDirectory(tmp["model"]).FullName;
        File.WriteAllBytes(Path.Combine(modelDir, "encoder.onnx"), BuiltInModels.MiniLmOnnx);
        File.WriteAllBytes(Path.Combine(modelDir, "vocab.txt"), BuiltInModels.MiniLmVocab);
        File.WriteAllText(tmp["in.txt"], "A short test sentence.\nAnother one, with a comma.\n");

        var (c1, _, e1) = CliHarness.Run("extract", "--model", Path.Combine(modelDir, "encoder.onnx"), "--layer", "2", "--input", tmp["in.txt"], "--out", tmp["file"], "--dtype", "f32");
        Assert.True(c1 == 0, e1);
        var (c2, _, e2) = CliHarness.Run("extract", "--model", "minilm", "--layer", "2", "--input", tmp["in.txt"], "--out", tmp["builtin"], "--dtype", "f32");
        Assert.True(c2 == 0, e2);
        var a = ActivationDump.Open(tmp["file"]);
        var b = ActivationDump.Open(tmp["builtin"]);
        Assert.Equal("encoder.onnx", a.Meta.Model);
        Assert.Equal(b.Meta.ModelSha256, a.Meta.ModelSha256);
        var ra = a.ReadBlocks().Single().Data;
        var rb = b.ReadBlocks().Single().Data;
        Assert.Equal(rb.Length, ra.Length);
        for (int i = 0; i < ra.Length; i++) Assert.True(Math.Abs(ra[i] - rb[i]) < 1e-5);
    }

    [Fact]
    public void Hook_tensor_captures_a_named_graph_tensor()
    {
        // Layer 3's block output is node output "662": naming it must give layer 3's rows.
        using var byName = new OnnxTransformerSource(BuiltInModels.MiniLmOnnx, "m", BuiltInModels.MiniLmTokenizer(), 0, 2, 64, hookTensor: "662");
        using var byLayer = BuiltInModels.MiniLm(3, 2);
        var t = byLayer.Tokenize("Which tensor is this?");
        var x = byName.Run(new[] { t })[0];
        var y = byLayer.Run(new[] { t })[0];
        Assert.Equal(y, x);
    }

    [Fact]
    public void A_model_without_input_ids_or_an_unknown_hook_tensor_is_a_user_error()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["in.txt"], "text\n");
        File.WriteAllBytes(tmp["vocab.txt"], BuiltInModels.MiniLmVocab);
        File.WriteAllBytes(tmp["junk.onnx"], new byte[] { 1, 2, 3, 4, 5 });
        var (code, _, err) = CliHarness.Run("extract", "--model", tmp["junk.onnx"], "--input", tmp["in.txt"], "--out", tmp["o"]);
        Assert.Equal(1, code);
        Assert.Contains("junk.onnx", err);
        var (code2, _, err2) = CliHarness.Run("extract", "--hook-tensor", "no_such_tensor", "--input", tmp["in.txt"], "--out", tmp["o"]);
        Assert.Equal(1, code2);
        Assert.Contains("no_such_tensor", err2);
    }
}
