using System.Text;
using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>
/// BERT WordPiece tokenization with Hugging Face parity (lower-casing, accent stripping,
/// punctuation and symbol splitting, CJK split) through the FastBertTokenizer library, with
/// [CLS] … [SEP] around each text. Special-token strings typed inside a text stay literal
/// text (they become [UNK]), so a prompt cannot inject [SEP]/[CLS].
/// Thread-safe: each thread gets its own tokenizer instance over the same vocabulary.
/// </summary>
public sealed class WordPieceTextTokenizer : ITextTokenizer
{
    readonly string[] _vocab;
    readonly byte[] _vocabBytes;
    readonly bool _lowerCase;
    readonly ThreadLocal<FastBertTokenizer.BertTokenizer> _tok;
    readonly HashSet<int> _special = new();
    readonly int _sepId, _padId;

    public WordPieceTextTokenizer(Stream vocabTxt, bool lowerCase = true)
    {
        using var ms = new MemoryStream();
        vocabTxt.CopyTo(ms);
        _vocabBytes = ms.ToArray();
        _lowerCase = lowerCase;
        _vocab = Encoding.UTF8.GetString(_vocabBytes).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        if (_vocab.Length > 0 && _vocab[^1] == "") _vocab = _vocab[..^1];
        int Find(string t) => Array.IndexOf(_vocab, t);
        _sepId = Find("[SEP]");
        _padId = Math.Max(0, Find("[PAD]"));
        if (_sepId < 0 || Find("[CLS]") < 0 || Find("[UNK]") < 0)
            throw new UserError("The tokenizer vocabulary has no [CLS]/[SEP]/[UNK] tokens; SaeGuard's ONNX path expects a BERT WordPiece vocabulary.");
        foreach (var t in new[] { "[CLS]", "[SEP]", "[PAD]", "[MASK]" }) if (Find(t) >= 0) _special.Add(Find(t));
        _tok = new ThreadLocal<FastBertTokenizer.BertTokenizer>(() =>
        {
            var t = new FastBertTokenizer.BertTokenizer();
            t.LoadVocabulary(new StreamReader(new MemoryStream(_vocabBytes), Encoding.UTF8), _lowerCase);
            return t;
        });
    }

    /// <summary>Loads a vocab.txt, or the WordPiece vocab inside a Hugging Face tokenizer.json.</summary>
    public static WordPieceTextTokenizer FromFile(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Tokenizer file not found: '{path}'.");
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
            catch (JsonException e) { throw new UserError($"'{path}' is not valid JSON: {e.Message}"); }
            using (doc)
            {
                if (!doc.RootElement.TryGetProperty("model", out var model) || !model.TryGetProperty("vocab", out var vocab)
                    || vocab.ValueKind != JsonValueKind.Object)
                    throw new UserError($"'{path}' is not a WordPiece tokenizer.json (expected model.vocab as an object of token → id).");
                var pairs = vocab.EnumerateObject().Select(p => (p.Name, Id: p.Value.GetInt32())).OrderBy(p => p.Id).ToList();
                var lower = !(doc.RootElement.TryGetProperty("normalizer", out var norm) && norm.ValueKind == JsonValueKind.Object
                    && norm.TryGetProperty("lowercase", out var lc) && lc.ValueKind == JsonValueKind.False);
                var text = string.Join("\n", pairs.Select(p => p.Name)) + "\n";
                return new WordPieceTextTokenizer(new MemoryStream(Encoding.UTF8.GetBytes(text)), lower);
            }
        }
        using var fs = File.OpenRead(path);
        return new WordPieceTextTokenizer(fs);
    }

    public int VocabSize => _vocab.Length;
    public int PadId => _padId;
    public string TokenText(int id) => id >= 0 && id < _vocab.Length ? _vocab[id] : $"<{id}>";

    public TokenizedText Encode(string text, int maxLength)
    {
        // Every word piece covers at least one character, so a text never needs more than
        // length + 2 tokens; asking for one more than allowed tells whether it was cut.
        maxLength = Math.Max(2, maxLength);
        int ask = (int)Math.Min((long)maxLength + 1, (long)text.Length + 3);
        var (ids, mask, _) = _tok.Value!.Encode(text, ask);
        int n = 0;
        foreach (var m in mask.Span) n += (int)m;
        var span = ids.Span[..n];
        bool truncated = n > maxLength;
        int len = Math.Min(n, maxLength);
        var arr = new int[len];
        for (int i = 0; i < len; i++) arr[i] = (int)span[i];
        if (truncated || arr[^1] != _sepId) arr[^1] = _sepId;
        var special = new bool[len];
        for (int i = 0; i < len; i++) special[i] = _special.Contains(arr[i]);
        return new TokenizedText(arr, special, truncated);
    }
}
