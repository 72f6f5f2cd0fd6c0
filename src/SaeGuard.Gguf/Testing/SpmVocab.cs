namespace SaeGuard.Gguf.Testing;

/// <summary>
/// A small SentencePiece-style ("llama") vocabulary: unknown, BOS and EOS, the family's control tokens
/// (chat markers), the 256 byte-fallback tokens, printable ASCII characters, and every prefix of a
/// list of "▁word" pieces (so that SPM's bigram merges can reach each word). Scores grow with length
/// so longer pieces win. Optionally padded with filler pieces up to a vocabulary size.
/// </summary>
public sealed class SpmVocab
{
    // llama.cpp token types
    public const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;
    public const string Space = "\u2581";

    readonly Dictionary<string, int> _ids = new();

    public List<string> Tokens { get; } = new();
    public List<float> Scores { get; } = new();
    public List<int> Types { get; } = new();
    public int Unk => 0;
    public int Bos => 1;
    public int Eos => 2;
    /// <summary>The first two control tokens after EOS (&lt;|im_start|&gt; and &lt;|im_end|&gt; by default).</summary>
    public int ImStart => 3;
    public int ImEnd => 4;

    public static readonly string[] DefaultWords =
    {
        "how", "to", "make", "a", "the", "is", "what", "write", "story", "about", "hello", "world", "i", "you",
        "can", "help", "me", "with", "this", "that", "and", "of", "in", "for", "bomb", "weapon", "cake",
        "recipe", "poem", "explain", "tell", "please", "code", "hack", "computer", "steal", "money", "friend",
        "good", "day", "user", "assistant", "cat", "dog", "sun", "water",
    };

    public static readonly string[] ChatMlControls = { "<|im_start|>", "<|im_end|>" };

    public SpmVocab(IEnumerable<string>? words = null, string bos = "<s>", string eos = "</s>", IEnumerable<string>? controls = null, int padTo = 0)
    {
        Add("<unk>", 0, Unknown);
        Add(bos, 0, Control);
        Add(eos, 0, Control);
        foreach (var c in controls ?? ChatMlControls) Add(c, 0, Control);
        for (int b = 0; b < 256; b++) Add($"<0x{b:X2}>", 0, Byte);
        void Piece(string p)
        {
            if (!_ids.ContainsKey(p)) Add(p, p.Length, Normal);
        }
        Piece(Space);
        for (char c = '!'; c <= '~'; c++) Piece(c.ToString());
        foreach (var w in words ?? DefaultWords)
        {
            var full = Space + w;
            for (int len = 2; len <= full.Length; len++) Piece(full[..len]);
        }
        foreach (var suffix in new[] { "in", "ing", "ed", "er", "es" }) { Piece(suffix[..2]); Piece(suffix); }
        // Filler pieces that no text of the tests spells: they only make the vocabulary (and output head) large.
        for (int i = 0; Tokens.Count < padTo; i++) Piece($"{Space}\u00b7{i}");
    }

    void Add(string token, float score, int type)
    {
        _ids[token] = Tokens.Count;
        Tokens.Add(token); Scores.Add(score); Types.Add(type);
    }

    public int Count => Tokens.Count;

    /// <summary>The id of a token string (a control token such as "&lt;start_of_turn&gt;").</summary>
    public int Id(string token) => _ids.TryGetValue(token, out var id) ? id : throw new KeyNotFoundException($"token '{token}' is not in the vocabulary");
}
