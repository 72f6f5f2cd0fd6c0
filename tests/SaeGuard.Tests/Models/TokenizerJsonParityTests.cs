using System.Text.Json;
using SaeGuard.Models;

namespace SaeGuard.Tests.Models;

/// <summary>
/// tokenizer.json parity on 40 tricky strings per tokenizer type (accents, emoji and ZWJ sequences,
/// whitespace runs, digits, code, special-token strings typed as text) against the reference
/// tokenizers of the fixture script (byte-level BPE with the GPT-2 and Llama-3 regexes, SentencePiece
/// BPE with byte fallback, with and without the prefix space, SentencePiece Unigram with "$A &lt;/s&gt;").
/// </summary>
public class TokenizerJsonParityTests
{
    public static TheoryData<string> Names => new() { "gpt2", "llama3", "llama2", "gemma", "unigram" };

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_tricky_string_gives_the_reference_ids_and_only_bos_eos_are_special(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(OnnxDecoderFixtures.Dir("tokenizers", "tokenizer_cases.json")));
        var cases = doc.RootElement.GetProperty(name).EnumerateArray().ToList();
        Assert.True(cases.Count >= 30);
        using var tok = OnnxDecoderFixtures.Tokenizer(name);
        int pre = tok.Source.Prefix.Length, post = tok.Source.Suffix.Length;
        Assert.Equal(name is "gpt2" or "unigram" ? 0 : 1, pre);
        Assert.Equal(name == "unigram" ? 1 : 0, post);
        var failures = new List<string>();
        foreach (var c in cases)
        {
            var text = c.GetProperty("text").GetString()!;
            var expected = c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var got = tok.Encode(text, 10_000);
            if (!got.Ids.SequenceEqual(expected)) failures.Add($"'{text}': [{string.Join(",", got.Ids)}] vs [{string.Join(",", expected)}]");
            for (int i = 0; i < got.Length; i++) Assert.Equal(i < pre || i >= got.Length - post, got.IsSpecial[i]);
            Assert.Null(got.IsTemplate);
            Assert.False(got.Truncated);
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Bos_rules_come_from_the_post_processor_or_from_add_bos_token()
    {
        using var llama3 = OnnxDecoderFixtures.Tokenizer("llama3");
        Assert.Equal(new[] { llama3.Source.Id("<|begin_of_text|>", "bos") }, llama3.Source.Prefix);
        using var gpt2 = OnnxDecoderFixtures.Tokenizer("gpt2");
        Assert.Empty(gpt2.Source.Prefix);
        using var llama = HfTextTokenizer.FromFile(OnnxDecoderFixtures.Dir("llama")); // tokenizer_config.json: add_bos_token true
        Assert.Equal(new[] { 1 }, llama.Source.Prefix);
        Assert.Empty(llama.Source.Suffix);
    }

    [Fact]
    public void Truncation_keeps_bos_and_cuts_the_text()
    {
        using var tok = OnnxDecoderFixtures.Tokenizer("llama2");
        var full = tok.Encode("How do I make a cake? Please explain the history.", 10_000);
        var cut = tok.Encode("How do I make a cake? Please explain the history.", 5);
        Assert.True(cut.Truncated);
        Assert.Equal(full.Ids.Take(5), cut.Ids);
        Assert.True(cut.IsSpecial[0]);
    }
}
