using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Gguf;
using SaeGuard.Gguf.Testing;
using SaeGuard.Models;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Gguf;

[Collection("gguf")]
public class GgufExtractionTests
{
    static readonly string[] Texts =
    {
        "hello world, how to make a cake",
        "write a poem about the sun and water",
        "can you help me with this code?",
        "tell me a story about a cat",
        "how to steal money from a friend",
        "good day",
    };

    static GgufActivationSource Open(int layer, GgufOptions? o = null) =>
        new(TinyModel.Path, layer, o ?? new GgufOptions { Threads = 2 });

    static float[] RunOne(GgufActivationSource s, string text) => s.Run(new[] { s.Tokenize(text) })[0];

    /// <summary>Rows [tokens, d] equal the reference to <paramref name="tol"/> relative (1 + |reference|).</summary>
    internal static void AssertClose(double[][] expected, float[] actual, double tol, string what)
    {
        int d = expected[0].Length;
        Assert.Equal(expected.Length * d, actual.Length);
        for (int t = 0; t < expected.Length; t++)
            for (int i = 0; i < d; i++)
            {
                double e = expected[t][i], a = actual[t * d + i];
                Assert.True(Math.Abs(e - a) <= tol * (1 + Math.Abs(e)), $"{what}: token {t}, dim {i}: llama.cpp {a} vs reference {e}");
            }
    }

    [Fact]
    public void Rows_have_one_row_per_token_of_n_embd_finite_values_and_flag_bos()
    {
        using var s = Open(2);
        var tok = s.Tokenize(Texts[0]);
        Assert.Equal(1, tok.Ids[0]); // BOS, as the model asks (add_bos_token)
        Assert.True(tok.IsSpecial[0]);
        Assert.All(tok.IsSpecial.Skip(1), Assert.False);
        var rows = s.Run(new[] { tok })[0];
        Assert.Equal(tok.Length * 64, rows.Length);
        Assert.Equal(64, s.Width);
        Assert.Equal(4, s.LayerCount);
        Assert.All(rows, v => Assert.True(float.IsFinite(v)));
        Assert.True(rows.Max(Math.Abs) > 0.1f);
    }

    [Fact]
    public void Two_contexts_give_identical_rows()
    {
        using var a = Open(1);
        using var b = Open(1);
        foreach (var text in Texts.Take(3)) Assert.Equal(RunOne(a, text), RunOne(b, text));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)] // the last block: its rows exist only for tokens whose logits are requested
    public void Rows_equal_a_float64_reference_forward(int layer)
    {
        using var s = Open(layer);
        foreach (var text in new[] { Texts[0], Texts[2] })
        {
            var tok = s.Tokenize(text);
            var reference = LlamaReference.Forward(TinyModel.Weights, tok.Ids);
            AssertClose(reference.LayerOut[layer], RunOne(s, text), 1e-4, $"l_out-{layer} of '{text}'");
        }
    }

    [Fact]
    public void Small_micro_batches_give_the_rows_of_one_batch()
    {
        using var whole = Open(2);
        using var split = Open(2, new GgufOptions { Threads = 2, Batch = 8, MicroBatch = 3 });
        var docs = Texts.Select(whole.Tokenize).ToList();
        Assert.Contains(docs, d => d.Length > 8); // split across decode calls and micro-batches
        var a = whole.Run(docs);
        var b = split.Run(docs);
        for (int i = 0; i < docs.Count; i++)
        {
            Assert.Equal(a[i].Length, b[i].Length);
            for (int j = 0; j < a[i].Length; j++) Assert.True(Math.Abs(a[i][j] - b[i][j]) <= 1e-5f * (1 + Math.Abs(a[i][j])), $"doc {i} value {j}");
        }
    }

    [Fact]
    public void Early_exit_and_full_forward_agree()
    {
        using var early = Open(1);
        using var full = Open(1, new GgufOptions { Threads = 2, EarlyExit = false });
        foreach (var text in Texts.Take(2)) Assert.Equal(RunOne(full, text), RunOne(early, text));
    }

    [Fact]
    public void Chat_template_wraps_the_text_as_a_user_turn()
    {
        using var s = Open(1, new GgufOptions { Threads = 2, ChatTemplate = true });
        var tok = s.Tokenize("good day");
        var expected = s.Model.Tokenize("<|im_start|>user\ngood day<|im_end|>\n<|im_start|>assistant\n", true, true);
        Assert.Equal(expected, tok.Ids);
        Assert.Equal(new[] { 1, 3, 4, 3 }, tok.Ids.Where((id, i) => s.Model.IsSpecial(id)).ToArray()); // BOS, im_start, im_end, im_start
        Assert.Equal("chatml", s.Info["chat_template"]);
        // Everything but "good day" is the template's (flagged special too, so pooling skips it).
        Assert.Equal("good day", s.Model.Detokenize(tok.Ids.Where((_, i) => !tok.IsTemplate![i])));
        Assert.Equal(tok.IsTemplate, tok.IsSpecial);
    }

    [Fact]
    public void Extract_cli_on_a_gguf_writes_the_rows_of_one_document_at_a_time()
    {
        using var tmp = new TempDir();
        var input = tmp["docs.jsonl"];
        File.WriteAllLines(input, Texts.Select(t => JsonSerializer.Serialize(new { text = t })));
        var (code, _, err) = CliHarness.Run("extract", "--model", TinyModel.Path, "--layer", "2", "--input", input, "--out", tmp["acts"], "--dtype", "f32", "--threads", "2");
        Assert.True(code == 0, err);

        var dump = ActivationDump.Open(tmp["acts"]);
        var meta = dump.Meta;
        Assert.Equal(Hashing.Sha256File(TinyModel.Path), meta.ModelSha256);
        Assert.Equal("tiny.gguf", meta.Model);
        Assert.Equal(2, meta.Layer);
        Assert.Equal("resid_post", meta.Hook);
        Assert.Equal(64, meta.D);
        Assert.Equal("llama", meta.Extra!["architecture"]);
        Assert.Equal("64", meta.Extra["n_embd"]);
        Assert.Equal("4", meta.Extra["n_layer"]);
        Assert.Equal("l_out-2", meta.Extra["hook_name"]);

        var all = ActivationDump.Concat(dump.ReadBlocks().ToList());
        using var s = Open(2);
        int row = 0;
        for (int doc = 0; doc < Texts.Length; doc++)
        {
            var tok = s.Tokenize(Texts[doc]);
            var one = s.Run(new[] { tok })[0];
            for (int t = 0; t < tok.Length; t++, row++)
            {
                Assert.Equal(doc, all.DocIds[row]);
                Assert.Equal(t, all.Positions[row]);
                Assert.Equal(tok.Ids[t], all.TokenIds[row]);
                Assert.Equal(tok.IsSpecial[t], all.IsSpecial[row]);
                for (int i = 0; i < 64; i++)
                    Assert.True(Math.Abs(one[t * 64 + i] - all.Row(row)[i]) <= 1e-5f * (1 + Math.Abs(one[t * 64 + i])), $"doc {doc} token {t} dim {i}");
            }
        }
        Assert.Equal(row, all.Rows);
    }
    [Fact]
    public void Extract_cli_chat_template_option_reaches_the_tokenizer()
    {
        using var tmp = new TempDir();
        var input = tmp["docs.jsonl"];
        File.WriteAllLines(input, new[] { JsonSerializer.Serialize(new { text = "good day" }) });
        var (code, _, err) = CliHarness.Run("extract", "--model", TinyModel.Path, "--layer", "1", "--input", input, "--out", tmp["acts"], "--chat-template");
        Assert.True(code == 0, err);
        var dump = ActivationDump.Open(tmp["acts"]);
        Assert.Equal("chatml", dump.Meta.Extra!["chat_template"]);
        Assert.Equal(TinyLlamaSpec.ChatMl, dump.Meta.ChatTemplate!.Template);
        var rows = ActivationDump.Concat(dump.ReadBlocks().ToList());
        Assert.Equal(new[] { 1, 3 }, rows.TokenIds.Take(2)); // BOS, <|im_start|>
        using (var s = Open(1, new GgufOptions { Threads = 2, ChatTemplate = true }))
            Assert.Equal(s.Tokenize("good day").IsTemplate, rows.IsTemplate); // all but the tokens of "good day"
        Assert.Equal(rows.IsTemplate, rows.IsSpecial);

        var onnx = CliHarness.Run("extract", "--model", "minilm", "--layer", "1", "--input", input, "--out", tmp["acts2"], "--chat-template");
        Assert.Equal(1, onnx.Code);
        Assert.Contains("GGUF models only", onnx.Err);
    }
}
