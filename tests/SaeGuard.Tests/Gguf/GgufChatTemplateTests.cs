using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Gguf;
using SaeGuard.Gguf.Testing;
using SaeGuard.IO;
using SaeGuard.Models;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Gguf;

/// <summary>
/// Chat templates through llama.cpp on every family, with the family's official template string in
/// the GGUF: the tokens equal the tokenization of the template's Jinja rendering (fixtures), the
/// tokens outside the messages are flagged template (and special), and extract records both.
/// </summary>
[Collection("gguf")]
public class GgufChatTemplateTests
{
    public static TheoryData<TinyFamily> TemplatedFamilies => new(TinyFamilies.All.Where(f => ChatTemplateFixtures.For(f) != null));

    static readonly Dictionary<TinyFamily, string> LlamaCppNames = new()
    {
        [TinyFamily.Gemma2] = "gemma", [TinyFamily.Qwen2] = "chatml", [TinyFamily.Llama3] = "llama3",
        [TinyFamily.Mistral] = "mistral-v3", [TinyFamily.Phi3] = "phi3",
    };

    static GgufActivationSource Open(TinyFamily family, string template = "auto") =>
        new(TinyModel.Family(family).Path, 1, new GgufOptions { Threads = 2, Template = template });

    /// <summary>The runs of consecutive non-template tokens.</summary>
    static List<int[]> ContentRuns(TokenizedText t)
    {
        var runs = new List<int[]>();
        var cur = new List<int>();
        for (int i = 0; i <= t.Length; i++)
        {
            if (i < t.Length && !t.IsTemplate![i]) { cur.Add(t.Ids[i]); continue; }
            if (cur.Count > 0) runs.Add(cur.ToArray());
            cur.Clear();
        }
        return runs;
    }

    [Theory]
    [MemberData(nameof(TemplatedFamilies))]
    public void Conversations_tokenize_as_the_official_template_renders_them_and_flag_the_template_tokens(TinyFamily family)
    {
        var fx = ChatTemplateFixtures.For(family)!;
        using var source = Open(family);
        Assert.Equal(fx.Template, source.ChatTemplate!.Template);
        Assert.Equal(LlamaCppNames[family], source.ChatTemplate.Name);
        Assert.Equal(LlamaCppNames[family], source.Info["chat_template"]);
        foreach (var (name, messages) in fx.Conversations)
        {
            var tok = name == "one_turn" ? source.Tokenize(messages.Single().Content) : source.TokenizeChat(messages);
            var rendered = fx.Rendered[name];
            var expected = source.Model.Tokenize(rendered, source.Model.AddBos && !rendered.StartsWith(fx.Bos), parseSpecial: true);
            Assert.Equal(expected, tok.Ids);
            Assert.NotNull(tok.IsTemplate);
            var runs = ContentRuns(tok);
            Assert.Equal(messages.Length, runs.Count);
            for (int i = 0; i < runs.Count; i++) Assert.Equal(messages[i].Content.Trim(), source.Model.Detokenize(runs[i]).Trim());
            for (int i = 0; i < tok.Length; i++) Assert.True(!tok.IsTemplate![i] || tok.IsSpecial[i], $"template token {i} is not special");
            Assert.True(tok.IsTemplate![^1]); // the last token is the template's assistant start
            Assert.True(tok.IsTemplate[0]);
        }
    }

    [Fact]
    public void A_llama_cpp_template_name_overrides_the_model_template_and_a_wrong_name_is_a_user_error()
    {
        using var chatml = Open(TinyFamily.Gemma2, "chatml");
        Assert.Equal("chatml", chatml.ChatTemplate!.Name);
        var tok = chatml.Tokenize("good day");
        Assert.Equal(chatml.Model.Tokenize("<|im_start|>user\ngood day<|im_end|>\n<|im_start|>assistant\n", true, true), tok.Ids);
        using var none = Open(TinyFamily.Gemma2, "none");
        Assert.Null(none.Tokenize("good day").IsTemplate);
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => Open(TinyFamily.Gemma2, "no-such-template"));
        Assert.Contains("'no-such-template'", e.Message);
        Assert.Contains("gemma", e.Message);
    }

    [Fact]
    public void Truncation_keeps_the_assistant_start_at_the_end()
    {
        var f = TinyModel.Family(TinyFamily.Gemma2);
        using var full = Open(TinyFamily.Gemma2);
        using var cut = new GgufActivationSource(f.Path, 1, new GgufOptions { Threads = 2, Template = "auto", MaxLength = 12 });
        const string text = "write a poem about the sun and water and a cat and a dog";
        var a = full.Tokenize(text);
        var b = cut.Tokenize(text);
        Assert.True(b.Truncated);
        Assert.Equal(12, b.Length);
        int tail = a.Length - 1 - Array.LastIndexOf(a.IsTemplate!, false);
        Assert.Equal(a.Ids[^tail..], b.Ids[^tail..]);
        Assert.Equal(a.Ids[..(12 - tail)], b.Ids[..(12 - tail)]);
    }

    [Fact]
    public void Extract_records_the_template_in_meta_json_and_flags_its_rows_in_the_shards()
    {
        using var tmp = new TempDir();
        var f = TinyModel.Family(TinyFamily.Gemma2);
        var input = tmp["docs.jsonl"];
        var texts = new[] { "good day", "how to make a cake" };
        File.WriteAllLines(input, texts.Select(t => JsonSerializer.Serialize(new { text = t })));
        var (code, _, err) = CliHarness.Run("extract", "--model", f.Path, "--layer", "1", "--input", input, "--out", tmp["acts"], "--chat-template", "--threads", "2");
        Assert.True(code == 0, err);
        var dump = ActivationDump.Open(tmp["acts"]);
        Assert.Equal("gemma", dump.Meta.ChatTemplate!.Name);
        Assert.Equal(ChatTemplateFixtures.For(TinyFamily.Gemma2)!.Template, dump.Meta.ChatTemplate.Template);
        Assert.Equal("gemma", dump.Meta.Extra!["chat_template"]);
        Assert.Contains("\"chat_template\": {", File.ReadAllText(Path.Combine(tmp["acts"], "meta.json")));
        var rows = ActivationDump.Concat(dump.ReadBlocks().ToList());
        using var source = Open(TinyFamily.Gemma2);
        int row = 0;
        foreach (var text in texts)
        {
            var tok = source.Tokenize(text);
            for (int t = 0; t < tok.Length; t++, row++)
            {
                Assert.Equal(tok.Ids[t], rows.TokenIds[row]);
                Assert.Equal(tok.IsTemplate![t], rows.IsTemplate[row]);
                Assert.Equal(tok.IsSpecial[t], rows.IsSpecial[row]);
            }
        }
        Assert.Equal(rows.Rows, row);
        using (var shard = new SafeTensorsReader(Path.Combine(tmp["acts"], dump.Meta.Shards[0].File)))
            Assert.True(shard.Tensors.ContainsKey("is_template"));

        // Without a template: no is_template tensor, no chat_template, and the reader says all false.
        var plain = CliHarness.Run("extract", "--model", f.Path, "--layer", "1", "--input", input, "--out", tmp["plain"], "--chat-template", "none", "--threads", "2");
        Assert.True(plain.Code == 0, plain.Err);
        var plainDump = ActivationDump.Open(tmp["plain"]);
        Assert.Null(plainDump.Meta.ChatTemplate);
        Assert.Equal("none", plainDump.Meta.Extra!["chat_template"]);
        using (var shard = new SafeTensorsReader(Path.Combine(tmp["plain"], plainDump.Meta.Shards[0].File)))
            Assert.False(shard.Tensors.ContainsKey("is_template"));
        Assert.All(ActivationDump.Concat(plainDump.ReadBlocks().ToList()).IsTemplate, Assert.False);

        var bad = CliHarness.Run("extract", "--model", f.Path, "--layer", "1", "--input", input, "--out", tmp["bad"], "--chat-template", "nonsense");
        Assert.Equal(1, bad.Code);
        Assert.Contains("'nonsense'", bad.Err);
        Assert.False(Directory.Exists(tmp["bad"]));
    }
}
