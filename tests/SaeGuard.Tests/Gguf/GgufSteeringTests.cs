using System.Text.Json;
using SaeGuard.Gguf;
using SaeGuard.Gguf.Testing;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Gguf;

[Collection("gguf")]
public class GgufSteeringTests
{
    const int D = 64;

    /// <summary>A relu SAE on the tiny model's layer 2 whose decoder rows are random directions of random length.</summary>
    internal static SaeModel MakeSae(int layer = 2, int dSae = 16, double? trainNorm = null)
    {
        var rng = new Random(3);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var cfg = new SaeConfig
        {
            DIn = D, DSae = dSae, Architecture = "relu",
            Metadata = new SaeMetadata { ModelName = "tiny.gguf", HookName = $"l_out-{layer}", Layer = layer, TrainActivationNorm = trainNorm },
        };
        return new SaeModel(cfg, R(D * dSae), new float[dSae], R(dSae * D), new float[D]);
    }

    static GgufContext Context(GgufModel m) => new(m, new GgufOptions { Threads = 2, MaxSequences = 1 }, 64, new[] { 1, 2 });

    [Fact]
    public void Control_vector_moves_the_steered_layer_by_exactly_the_vector_and_leaves_the_layer_below()
    {
        using var model = GgufModel.Load(TinyModel.Path);
        using var ctx = Context(model);
        var ids = model.Tokenize("how to make a cake", true, false);
        var before = ctx.CaptureSequences(new[] { ids }, earlyExit: false)[0];
        var vector = GgufSteerer.SteeringVector(MakeSae(), 5, 2.0, 10.0);
        Assert.Equal(20.0, Math.Sqrt(vector.Sum(v => (double)v * v)), 4);

        ctx.SetSteering(vector, 2);
        var steered = ctx.CaptureSequences(new[] { ids }, earlyExit: false)[0];
        Assert.Equal(before[0], steered[0]); // l_out-1: untouched, bit for bit
        for (int t = 0; t < ids.Length; t++)
            for (int i = 0; i < D; i++)
                Assert.Equal(before[1][t * D + i] + vector[i], steered[1][t * D + i], 4);

        ctx.SetSteering(null, 2);
        var after = ctx.CaptureSequences(new[] { ids }, earlyExit: false)[0];
        Assert.Equal(before[1], after[1]);
    }

    [Fact]
    public void Steered_layer_matches_a_reference_forward_with_the_vector_added()
    {
        using var model = GgufModel.Load(TinyModel.Path);
        using var ctx = Context(model);
        var ids = model.Tokenize("tell me a story", true, false);
        var vector = GgufSteerer.SteeringVector(MakeSae(), 3, 1.5, 8.0);
        ctx.SetSteering(vector, 1);
        var rows = ctx.CaptureSequences(new[] { ids }, earlyExit: false)[0][1]; // l_out-2, downstream of the steered block
        var reference = LlamaReference.Forward(TinyModel.Weights, ids, steerLayer: 1, steer: vector).LayerOut[2];
        for (int t = 0; t < ids.Length; t++)
            for (int i = 0; i < D; i++)
                Assert.True(Math.Abs(reference[t][i] - rows[t * D + i]) <= 1e-4 * (1 + Math.Abs(reference[t][i])), $"token {t} dim {i}");
    }

    [Fact]
    public void Steer_cli_prints_the_reference_greedy_continuations_with_and_without_the_feature()
    {
        using var tmp = new TempDir();
        var sae = MakeSae(layer: 2, trainNorm: 6.0);
        SaeLensFormat.Save(sae, tmp["sae"]);
        const string prompt = "how to make a cake";
        var (code, stdout, err) = CliHarness.Run("steer", "--model", TinyModel.Path, "--sae", tmp["sae"], "--feature", "4",
            "--strength", "3", "--prompt", prompt, "--max-new-tokens", "6", "--threads", "2", "--json");
        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        int[] Tokens(string which) => root.GetProperty(which).GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(2, root.GetProperty("layer").GetInt32());
        Assert.Equal(6.0, root.GetProperty("residual_norm").GetDouble());
        Assert.Equal("sae training activations", root.GetProperty("norm_source").GetString());

        var w = TinyModel.Weights;
        var ids = new[] { w.Vocab.Bos }.Concat(Tokenized(prompt)).ToArray();
        var stop = new HashSet<int> { w.Vocab.Eos, w.Vocab.ImEnd };
        var vector = GgufSteerer.SteeringVector(sae, 4, 3, 6.0);
        var baseline = LlamaReference.Greedy(w, ids, 6, stop: stop);
        var steered = LlamaReference.Greedy(w, ids, 6, 2, vector, stop);
        Assert.Equal(baseline, Tokens("baseline"));
        Assert.Equal(steered, Tokens("steered"));
        Assert.NotEqual(baseline, steered);
    }

    [Fact]
    public void Steer_cli_wraps_the_prompt_in_the_chat_template_and_continues_as_the_reference()
    {
        using var tmp = new TempDir();
        var f = TinyModel.Family(TinyFamily.Gemma2);
        var sae = MakeSae(layer: 2, trainNorm: 4.0);
        SaeLensFormat.Save(sae, tmp["sae"]);
        const string prompt = "how to make a cake";
        var (code, stdout, err) = CliHarness.Run("steer", "--model", f.Path, "--sae", tmp["sae"], "--feature", "3", "--strength", "2",
            "--prompt", prompt, "--max-new-tokens", "4", "--threads", "2", "--json", "--chat-template");
        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        int[] Tokens(string which) => root.GetProperty(which).GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        using var source = new GgufActivationSource(f.Path, 2, new GgufOptions { Threads = 2, Template = "auto" });
        var ids = source.Tokenize(prompt).Ids; // <bos><start_of_turn>user\n…<end_of_turn>\n<start_of_turn>model\n
        Assert.Equal(ids.Length, root.GetProperty("prompt_tokens").GetInt32());
        var stop = new HashSet<int> { f.Weights.Vocab.Eos, f.Weights.Vocab.Id("<end_of_turn>") };
        var vector = GgufSteerer.SteeringVector(sae, 3, 2, 4.0);
        Assert.Equal(LlamaReference.Greedy(f.Weights, ids, 4, stop: stop), Tokens("baseline"));
        Assert.Equal(LlamaReference.Greedy(f.Weights, ids, 4, 2, vector, stop), Tokens("steered"));
    }

    static int[] Tokenized(string text)
    {
        using var m = GgufModel.Load(TinyModel.Path);
        return m.Tokenize(text, false, false);
    }

    [Fact]
    public void Steer_cli_with_zero_strength_prints_two_equal_columns()
    {
        using var tmp = new TempDir();
        SaeLensFormat.Save(MakeSae(), tmp["sae"]);
        var (code, stdout, err) = CliHarness.Run("steer", "--model", TinyModel.Path, "--sae", tmp["sae"], "--feature", "1",
            "--strength", "0", "--prompt", "hello world", "--max-new-tokens", "5", "--threads", "2");
        Assert.True(code == 0, err);
        Assert.Contains("measured on the prompt", stdout);
        var table = stdout.Split('\n').SkipWhile(l => !l.Contains(" | ")).Skip(2).Where(l => l.Contains(" | ")).ToList();
        Assert.NotEmpty(table);
        Assert.All(table, l => { var parts = l.Split(" | "); Assert.Equal(parts[0].TrimEnd(), parts[1].TrimEnd()); });
    }

    [Fact]
    public void Sampling_with_a_seed_is_reproducible()
    {
        using var tmp = new TempDir();
        SaeLensFormat.Save(MakeSae(), tmp["sae"]);
        string[] Args(int seed) => new[] { "steer", "--model", TinyModel.Path, "--sae", tmp["sae"], "--feature", "2", "--strength", "1",
            "--prompt", "tell me a story", "--max-new-tokens", "8", "--temperature", "1.5", "--seed", seed.ToString(), "--threads", "2", "--json" };
        var a = CliHarness.Run(Args(11));
        var b = CliHarness.Run(Args(11));
        Assert.True(a.Code == 0, a.Err);
        Assert.Equal(a.Out, b.Out);
    }
    [Fact]
    public void Steering_the_last_block_scales_by_the_mean_norm_of_the_prompt_rows()
    {
        using var tmp = new TempDir();
        SaeLensFormat.Save(MakeSae(layer: 3), tmp["sae"]);
        const string prompt = "write a poem about water";
        var (code, stdout, err) = CliHarness.Run("steer", "--model", TinyModel.Path, "--sae", tmp["sae"], "--feature", "0",
            "--strength", "0.5", "--prompt", prompt, "--max-new-tokens", "3", "--threads", "2", "--json");
        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("measured on the prompt", json.RootElement.GetProperty("norm_source").GetString());

        using var source = new GgufActivationSource(TinyModel.Path, 3, new GgufOptions { Threads = 2 });
        var tok = source.Tokenize(prompt);
        var rows = source.Run(new[] { tok })[0];
        double expected = Enumerable.Range(1, tok.Length - 1) // skip BOS
            .Average(t => Math.Sqrt(rows.AsSpan(t * D, D).ToArray().Sum(v => (double)v * v)));
        Assert.Equal(expected, json.RootElement.GetProperty("residual_norm").GetDouble(), 4);
        Assert.Equal(0.5 * expected, json.RootElement.GetProperty("vector_norm").GetDouble(), 3);
    }
}
