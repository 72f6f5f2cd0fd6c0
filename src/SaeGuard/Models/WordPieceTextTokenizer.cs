using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>
/// BERT WordPiece tokenization (lower-casing, accent stripping, CJK split) through
/// Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/>, with [CLS] … [SEP] around each text.
/// </summary>
public sealed class WordPieceTextTokenizer : ITextTokenizer
{
    readonly BertTokenizer _tok;
    readonly string[] _vocab;
    readonly HashSet<int> _special;

    public WordPieceTextTokenizer(Stream vocabTxt, bool lowerCase = true)
    {
        using var ms = new MemoryStream();
        vocabTxt.CopyTo(ms);
        var bytes = ms.ToArray();
        _vocab = Encoding.UTF8.GetString(bytes).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        if (_vocab.Length > 0 && _vocab[^1] == "") _vocab = _vocab[..^1];
        _tok = BertTokenizer.Create(new MemoryStream(bytes), new BertOptions
        {
            LowerCaseBeforeTokenization = lowerCase,
            RemoveNonSpacingMarks = lowerCase,
            IndividuallyTokenizeCjk = true,
            ApplyBasicTokenization = true,
            SplitOnSpecialTokens = true,
        });
        _special = new HashSet<int> { _tok.ClassificationTokenId, _tok.SeparatorTokenId, _tok.PaddingTokenId, _tok.MaskingTokenId };
    }

    /// <summary>Loads a vocab.txt, or the WordPiece vocab inside a Hugging Face tokenizer.json.</summary>
    public static WordPieceTextTokenizer FromFile(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Tokenizer file not found: '{path}'.");
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("model", out var model) || !model.TryGetProperty("vocab", out var vocab)
                || vocab.ValueKind != JsonValueKind.Object)
                throw new UserError($"'{path}' is not a WordPiece tokenizer.json (expected model.vocab as an object of token → id).");
            var pairs = vocab.EnumerateObject().Select(p => (p.Name, Id: p.Value.GetInt32())).OrderBy(p => p.Id).ToList();
            var lower = true;
            if (doc.RootElement.TryGetProperty("normalizer", out var norm) && norm.ValueKind == JsonValueKind.Object
                && norm.TryGetProperty("lowercase", out var lc) && lc.ValueKind == JsonValueKind.False) lower = false;
            var text = string.Join("\n", pairs.Select(p => p.Name)) + "\n";
            return new WordPieceTextTokenizer(new MemoryStream(Encoding.UTF8.GetBytes(text)), lower);
        }
        using var fs = File.OpenRead(path);
        return new WordPieceTextTokenizer(fs);
    }

    public int VocabSize => _vocab.Length;
    public int PadId => _tok.PaddingTokenId;
    public string TokenText(int id) => id >= 0 && id < _vocab.Length ? _vocab[id] : $"<{id}>";

    public TokenizedText Encode(string text, int maxLength)
    {
        var ids = _tok.EncodeToIds(text, addSpecialTokens: true, considerPreTokenization: true, considerNormalization: true);
        bool truncated = ids.Count > maxLength;
        int[] arr;
        if (truncated)
        {
            arr = new int[maxLength];
            for (int i = 0; i < maxLength - 1; i++) arr[i] = ids[i];
            arr[maxLength - 1] = _tok.SeparatorTokenId;
        }
        else arr = ids.ToArray();
        var special = new bool[arr.Length];
        for (int i = 0; i < arr.Length; i++) special[i] = _special.Contains(arr[i]);
        return new TokenizedText(arr, special, truncated);
    }
}
