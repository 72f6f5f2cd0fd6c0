using SaeGuard.Models;
using SaeGuard.Models.ChatTemplates;

namespace SaeGuard.Tests.Models;

public class ChatTemplateTests
{
    static string UserText(HfTextTokenizer tok, TokenizedText t) =>
        string.Concat(Enumerable.Range(0, t.Length).Where(i => !t.IsTemplate![i]).Select(i => tok.TokenText(t.Ids[i])));

    [Fact]
    public void Chatml_from_tokenizer_config_wraps_a_user_turn_with_the_default_system_prompt()
    {
        using var tok = HfTextTokenizer.FromFile(OnnxDecoderFixtures.Dir("gpt2"), ChatTemplateChoice.Auto);
        Assert.Equal("chatml", tok.Template!.Name);
        Assert.Equal("You are a helpful assistant.", tok.Template.DefaultSystem);
        var t = tok.Encode("Hello world", 256);
        int S(string s) => tok.Source.Id(s, "t");
        var expected = new List<int> { S("<|im_start|>") };
        expected.AddRange(tok.EncodeText("system\nYou are a helpful assistant."));
        expected.Add(S("<|im_end|>")); expected.AddRange(tok.EncodeText("\n")); expected.Add(S("<|im_start|>"));
        expected.AddRange(tok.EncodeText("user\nHello world"));
        expected.Add(S("<|im_end|>")); expected.AddRange(tok.EncodeText("\n")); expected.Add(S("<|im_start|>"));
        expected.AddRange(tok.EncodeText("assistant\n"));
        Assert.Equal(expected, t.Ids);
        Assert.Equal("HelloĠworld", UserText(tok, t));
        Assert.Equal(t.IsTemplate, t.IsSpecial);
        Assert.True(t.IsTemplate![^1]); // the assistant-start position is a template token
        Assert.Equal(tok.EncodeText("Hello world").Length, t.IsTemplate.Count(x => !x));
    }

    [Fact]
    public void Llama2_inst_template_starts_with_bos_and_flags_only_the_user_tokens()
    {
        using var tok = HfTextTokenizer.FromFile(OnnxDecoderFixtures.Dir("llama"), ChatTemplateChoice.Auto);
        Assert.Equal("llama-2", tok.Template!.Name);
        var t = tok.Encode("  Hello world ", 256);
        Assert.Equal(1, t.Ids[0]);
        Assert.Equal(new[] { 1 }.Concat(tok.EncodeText("[INST] Hello world [/INST]")), t.Ids);
        Assert.Equal("▁Hello▁world", UserText(tok, t));
        Assert.True(t.IsSpecial[0] && t.IsTemplate![0]);
    }

    [Fact]
    public void Truncating_a_templated_text_keeps_the_assistant_start()
    {
        using var tok = HfTextTokenizer.FromFile(OnnxDecoderFixtures.Dir("llama"), ChatTemplateChoice.Parse("llama-2"));
        var full = tok.Encode("How do I make a cake? Please explain the history of the Roman empire.", 1000);
        var cut = tok.Encode("How do I make a cake? Please explain the history of the Roman empire.", full.Length - 3);
        Assert.True(cut.Truncated);
        Assert.Equal(full.Length - 3, cut.Length);
        int tail = full.IsTemplate!.Reverse().TakeWhile(x => x).Count();
        Assert.Equal(full.Ids.TakeLast(tail), cut.Ids.TakeLast(tail));
    }

    [Fact]
    public void Llama3_and_gemma_templates_give_their_headers_around_the_user_tokens()
    {
        using var l3 = new HfTextTokenizer(SaeGuard.Models.TokenizerJsonFile.Load(OnnxDecoderFixtures.Dir("tokenizers", "llama3.tokenizer.json")), ChatTemplate.Named("llama-3"));
        int L(string s) => l3.Source.Id(s, "t");
        var t = l3.Encode(" Hello world ", 256);
        var expected = new List<int> { L("<|begin_of_text|>"), L("<|start_header_id|>") };
        expected.AddRange(l3.EncodeText("user")); expected.Add(L("<|end_header_id|>"));
        expected.AddRange(l3.EncodeText("\n\nHello world")); expected.Add(L("<|eot_id|>")); expected.Add(L("<|start_header_id|>"));
        expected.AddRange(l3.EncodeText("assistant")); expected.Add(L("<|end_header_id|>")); expected.AddRange(l3.EncodeText("\n\n"));
        Assert.Equal(expected, t.Ids);
        Assert.Equal("HelloĠworld", UserText(l3, t));

        using var gemma = new HfTextTokenizer(SaeGuard.Models.TokenizerJsonFile.Load(OnnxDecoderFixtures.Dir("tokenizers", "gemma.tokenizer.json")), ChatTemplate.Named("gemma"));
        int G(string s) => gemma.Source.Id(s, "t");
        var g = gemma.Encode("Hello world", 256);
        var ge = new List<int> { G("<bos>"), G("<start_of_turn>") };
        ge.AddRange(gemma.EncodeText("user\nHello world")); ge.Add(G("<end_of_turn>")); ge.AddRange(gemma.EncodeText("\n"));
        ge.Add(G("<start_of_turn>")); ge.AddRange(gemma.EncodeText("model\n"));
        Assert.Equal(ge, g.Ids);
        Assert.EndsWith("Hello▁world", UserText(gemma, g));
        Assert.Equal(g.IsTemplate, g.IsSpecial);
    }

    [Fact]
    public void A_template_whose_tokens_the_tokenizer_lacks_is_refused()
    {
        var e = Assert.Throws<SaeGuard.Common.UserError>(() =>
            new HfTextTokenizer(SaeGuard.Models.TokenizerJsonFile.Load(OnnxDecoderFixtures.Dir("tokenizers", "gpt2.tokenizer.json")), ChatTemplate.Named("gemma")));
        Assert.Contains("<start_of_turn>", e.Message);
    }

    [Theory]
    [InlineData("{{ '<|im_start|>' + message['role'] }}", "chatml")]
    [InlineData("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}", "llama-3")]
    [InlineData("{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}", "llama-2")]
    [InlineData("{{ '<start_of_turn>' + role + '\n' }}", "gemma")]
    [InlineData("{{ '<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' }}", "phi-3")]
    public void Templates_are_recognised_by_their_marker_tokens(string template, string name) =>
        Assert.Equal(name, ChatTemplate.Detect(template)!.Name);

    [Fact]
    public void Unknown_templates_and_names_are_refused()
    {
        Assert.Null(ChatTemplate.Detect("{% for m in messages %}### {{ m['role'] }}: {{ m['content'] }}{% endfor %}"));
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => ChatTemplate.Resolve(ChatTemplateChoice.Auto, "### {{ x }}", "'m'"));
        Assert.Contains("--chat-template", e.Message);
        Assert.Throws<SaeGuard.Common.UserError>(() => ChatTemplateChoice.Parse("vicuna"));
        Assert.Equal("llama-2", ChatTemplateChoice.Parse("mistral").Value);
    }
}
