using System.Text.Json;
using SaeGuard.Gguf;
using SaeGuard.Gguf.Testing;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Gguf;

[Collection("gguf")]
public class GgufErrorTests
{
    static (int Code, string Out, string Err) Extract(TempDir tmp, string model, int layer = 1)
    {
        var input = tmp["docs.jsonl"];
        File.WriteAllText(input, JsonSerializer.Serialize(new { text = "hello world" }) + "\n");
        return CliHarness.Run("extract", "--model", model, "--layer", layer.ToString(), "--input", input, "--out", tmp["acts"]);
    }

    [Fact]
    public void A_file_that_is_not_gguf_is_a_user_error()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["fake.gguf"], "this is plainly not a model, just some text padding the file out");
        var (code, _, err) = Extract(tmp, tmp["fake.gguf"]);
        Assert.Equal(1, code);
        Assert.Contains("fake.gguf", err);
        Assert.Contains("not a GGUF file", err);
        Assert.False(Directory.Exists(tmp["acts"]));
    }

    [Theory]
    [InlineData(0.5)]   // inside the tensor data
    [InlineData(0.002)] // inside the header
    public void A_truncated_gguf_is_a_user_error(double keep)
    {
        using var tmp = new TempDir();
        var bytes = File.ReadAllBytes(TinyModel.Path);
        File.WriteAllBytes(tmp["cut.gguf"], bytes[..(int)(bytes.Length * keep)]);
        var (code, _, err) = Extract(tmp, tmp["cut.gguf"]);
        Assert.Equal(1, code);
        Assert.Contains("cut.gguf", err);
        Assert.Contains("truncated", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(-1)]
    public void A_layer_outside_the_model_is_a_user_error(int layer)
    {
        using var tmp = new TempDir();
        var (code, _, err) = Extract(tmp, TinyModel.Path, layer);
        Assert.Equal(1, code);
        Assert.Contains("4 layers", err);
        Assert.False(Directory.Exists(tmp["acts"]));
    }

    [Fact]
    public void An_unsupported_architecture_is_a_user_error_naming_it()
    {
        using var tmp = new TempDir();
        new GgufWriter().Add("general.architecture", "mamba9").Add("mamba9.block_count", 4u)
            .AddTensor("token_embd.weight", new float[64], 1, 64).Save(tmp["other.gguf"]);
        var (code, _, err) = Extract(tmp, tmp["other.gguf"]);
        Assert.Equal(1, code);
        Assert.Contains("other.gguf", err);
        Assert.Contains("architecture 'mamba9' is not supported", err);
        Assert.Contains("gemma2", err);
        Assert.DoesNotContain("   at ", err);
        Assert.False(Directory.Exists(tmp["acts"]));
    }

    [Theory]
    [InlineData(TinyFamily.Gemma2, "blk.2.post_ffw_norm.weight")]
    [InlineData(TinyFamily.Qwen2, "blk.0.attn_k.bias")]
    [InlineData(TinyFamily.Phi3, "blk.3.attn_qkv.weight")]
    [InlineData(TinyFamily.Llama3, "token_embd.weight")]
    public void A_gguf_with_a_tensor_missing_is_a_user_error_naming_the_tensor(TinyFamily family, string missing)
    {
        using var tmp = new TempDir();
        TinyLlama.Writer(TinyModel.Family(family).Weights, keepTensor: n => n != missing).Save(tmp["cut.gguf"]);
        var (code, _, err) = Extract(tmp, tmp["cut.gguf"]);
        Assert.Equal(1, code);
        Assert.Contains($"has no tensor '{missing}'", err);
        Assert.Contains($"a {TinyFamilies.Architecture(family)} model", err);
        Assert.DoesNotContain("   at ", err);
        Assert.False(Directory.Exists(tmp["acts"]));
        var steer = CliHarness.Run("steer", "--model", tmp["cut.gguf"], "--sae", "nowhere", "--feature", "0", "--strength", "1", "--prompt", "hi");
        Assert.Equal(1, steer.Code);
    }

    [Fact]
    public void Header_reader_reads_back_what_the_writer_wrote()
    {
        var f = GgufFile.Read(TinyModel.Path);
        Assert.Equal(3u, f.Version);
        Assert.Equal("llama", f.Architecture);
        Assert.Equal(4, f.GetArchInt("block_count"));
        Assert.Equal(64, f.GetArchInt("embedding_length"));
        Assert.Equal(2 + 9 * 4 + 1, f.Tensors.Count);
        var q = f.Tensors.Single(t => t.Name == "blk.1.attn_q.weight");
        Assert.Equal(new long[] { 64, 64 }, q.Shape);
        var tokens = (GgufArray)f.Metadata["tokenizer.ggml.tokens"];
        Assert.Equal(TinyModel.Weights.Vocab.Tokens, tokens.Values!.Cast<string>());
        Assert.Equal(0, f.DataOffset % 32);
    }

    /// <summary>Runs the layout check on a fake ggml_tensor [64, 5] whose name sits at <paramref name="nameOffset"/>.</summary>
    static unsafe void CheckFakeTensor(int nameOffset, long nelements)
    {
        var fake = new byte[400];
        fixed (byte* t = fake)
        {
            var ne = (long*)(t + GgmlTensor.NeOffset);
            ne[0] = 64; ne[1] = 5; ne[2] = 1; ne[3] = 1;
            GgmlTensor.CheckLayout(t, t + nameOffset, nelements);
        }
    }

    [Fact]
    public void Layout_guard_rejects_a_tensor_whose_fields_moved()
    {
        CheckFakeTensor(256, 320); // the layout SaeGuard reads: accepted
        var moved = Assert.Throws<GgmlLayoutException>(() => CheckFakeTensor(264, 320));
        Assert.Contains("name at byte 264, expected 256", moved.Message);
        Assert.Contains("not supported", moved.Message);
        var reshaped = Assert.Throws<GgmlLayoutException>(() => CheckFakeTensor(256, 321));
        Assert.Contains("ggml_nelements 321", reshaped.Message);
    }

    [Fact]
    public void Steering_block_zero_or_a_missing_feature_is_a_user_error()
    {
        using var tmp = new TempDir();
        SaeLensFormat.Save(GgufSteeringTests.MakeSae(layer: 0), tmp["sae0"]);
        SaeLensFormat.Save(GgufSteeringTests.MakeSae(layer: 2), tmp["sae2"]);
        string[] Args(string sae, string feature) => new[] { "steer", "--model", TinyModel.Path, "--sae", sae, "--feature", feature, "--strength", "1", "--prompt", "hi" };
        var zero = CliHarness.Run(Args(tmp["sae0"], "1"));
        Assert.Equal(1, zero.Code);
        Assert.Contains("Layer 0 cannot be steered", zero.Err);
        var missing = CliHarness.Run(Args(tmp["sae2"], "16"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("--feature 16 is out of range", missing.Err);
    }
}
