using SaeGuard.Models;

namespace SaeGuard.Tests.Models;

/// <summary>
/// Expected WordPiece splits derived by hand from BERT-uncased rules (lower-case, strip accents,
/// split on every ASCII punctuation/symbol, CJK per character, greedy longest-match-first with
/// "##" continuations) and the shipped vocab.txt.
/// </summary>
public class TokenizerParityTests
{
    static readonly WordPieceTextTokenizer Tok = BuiltInModels.MiniLmTokenizer();

    public static TheoryData<string, string> Cases => new()
    {
        { "Hello, world!", "hello , world !" },
        { "Café naïve résumé", "cafe naive resume" },
        { "mañana", "mana ##na" },
        { "ÅNGSTRÖM", "ang ##strom" },
        { "Ökonomie", "ok ##ono ##mie" },
        { "unbelievably", "un ##bel ##ie ##va ##bly" },
        { "antidisestablishmentarianism", "anti ##dis ##est ##ab ##lish ##ment ##arian ##ism" },
        { "xyzzyq", "x ##y ##zzy ##q" },
        { "I can't do that.", "i can ' t do that ." },
        { "don't", "don ' t" },
        { "$100.50", "$ 100 . 50" },
        { "e-mail", "e - mail" },
        { "U.S.A.", "u . s . a ." },
        { "x^2+y^2=z^2", "x ^ 2 + y ^ 2 = z ^ 2" },
        { "snake_case_name", "snake _ case _ name" },
        { "1,000,000", "1 , 000 , 000" },
        { "GPT-4o", "gp ##t - 4 ##o" },
        { "HTTP://example.com", "http : / / example . com" },
        { "hello   world", "hello world" },
        { "tab\tseparated", "tab separated" },
        { "emoji 😀 here", "em ##oj ##i [UNK] here" },
        { "你好", "[UNK] [UNK]" },
        { "self-driving cars", "self - driving cars" },
        { "[CLS] inside", "[UNK] inside" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Splits_like_bert_uncased(string text, string expected)
    {
        var t = Tok.Encode(text, 256);
        var pieces = t.Ids.Select(Tok.TokenText).ToArray();
        Assert.Equal("[CLS]", pieces[0]);
        Assert.Equal("[SEP]", pieces[^1]);
        Assert.Equal(expected, string.Join(" ", pieces[1..^1]));
        Assert.True(t.IsSpecial[0] && t.IsSpecial[^1]);
        Assert.All(t.IsSpecial[1..^1], s => Assert.False(s));
        Assert.False(t.Truncated);
    }

    [Fact]
    public void Known_ids_from_the_vocab()
    {
        var t = Tok.Encode("Hello, world!", 256);
        Assert.Equal(new[] { 101, 7592, 1010, 2088, 999, 102 }, t.Ids);
    }

    [Fact]
    public void Long_text_is_truncated_to_max_length_ending_in_sep()
    {
        var text = string.Join(" ", Enumerable.Repeat("word", 300));
        var t = Tok.Encode(text, 16);
        Assert.Equal(16, t.Length);
        Assert.True(t.Truncated);
        Assert.Equal("[SEP]", Tok.TokenText(t.Ids[^1]));
        Assert.All(t.Ids[1..^1], id => Assert.Equal("word", Tok.TokenText(id)));
        var exact = Tok.Encode(string.Join(" ", Enumerable.Repeat("word", 14)), 16);
        Assert.Equal(16, exact.Length);
        Assert.False(exact.Truncated);
    }

    [Fact]
    public void Concurrent_use_gives_the_same_ids()
    {
        var texts = Enumerable.Range(0, 200).Select(i => $"Sentence number {i}, with some words: résumé {i * 7}.").ToArray();
        var serial = texts.Select(x => Tok.Encode(x, 64).Ids).ToArray();
        var parallel = texts.AsParallel().AsOrdered().Select(x => Tok.Encode(x, 64).Ids).ToArray();
        for (int i = 0; i < texts.Length; i++) Assert.Equal(serial[i], parallel[i]);
    }
}
