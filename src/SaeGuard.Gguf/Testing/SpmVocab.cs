namespace SaeGuard.Gguf.Testing;

/// <summary>
/// A small SentencePiece-style ("llama") vocabulary: control tokens, the 256 byte-fallback tokens,
/// printable ASCII characters, and every prefix of a list of "▁word" pieces (so that SPM's
/// bigram merges can reach each word). Scores grow with length so longer pieces win.
/// </summary>
public sealed class SpmVocab
{
    // llama.cpp token types
    public const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;
    public const string Space = "\u2581";

    public List<string> Tokens { get; } = new();
    public List<float> Scores { get; } = new();
    public List<int> Types { get; } = new();
    public int Unk => 0;
    public int Bos => 1;
    public int Eos => 2;
    public int ImStart => 3;
    public int ImEnd => 4;

    public static readonly string[] DefaultWords =
    {
        "how", "to", "make", "a", "the", "is", "what", "write", "story", "about", "hello", "world", "i", "you",
        "can", "help", "me", "with", "this", "that", "and", "of", "in", "for", "bomb", "weapon", "cake",
        "recipe", "poem", "explain", "tell", "please", "code", "hack", "computer", "steal", "money", "friend",
        "good", "day", "user", "assistant", "cat", "dog", "sun", "water",
    };

    public SpmVocab(IEnumerable<string>? words = null)
    {
        Add("<unk>", 0, Unknown);
        Add("<s>", 0, Control);
        Add("</s>", 0, Control);
        Add("<|im_start|>", 0, Control);
        Add("<|im_end|>", 0, Control);
        for (int b = 0; b < 256; b++) Add($"<0x{b:X2}>", 0, Byte);
        var seen = new HashSet<string>(Tokens);
        void Piece(string p)
        {
            if (seen.Add(p)) Add(p, p.Length, Normal);
        }
        Piece(Space);
        for (char c = '!'; c <= '~'; c++) Piece(c.ToString());
        foreach (var w in words ?? DefaultWords)
        {
            var full = Space + w;
            for (int len = 2; len <= full.Length; len++) Piece(full[..len]);
        }
        foreach (var suffix in new[] { "in", "ing", "ed", "er", "es" }) { Piece(suffix[..2]); Piece(suffix); }
    }

    void Add(string token, float score, int type)
    {
        Tokens.Add(token); Scores.Add(score); Types.Add(type);
    }

    public int Count => Tokens.Count;
}
