namespace SaeGuard.Analysis;

/// <summary>
/// A short label per feature from the tokens it fires on most strongly: the strongest
/// <see cref="Hits"/> activations of each feature are kept (value, token id) while streaming, and the
/// label is up to four distinct cleaned token texts, strongest first (e.g. "bomb, explosive").
/// </summary>
public sealed class FeatureLabels
{
    public const int Hits = 8;

    readonly int _width;
    readonly float[] _val;
    readonly int[] _tok;
    readonly int[] _count;

    public FeatureLabels(int width)
    {
        _width = width;
        _val = new float[(long)width * Hits];
        _tok = new int[(long)width * Hits];
        _count = new int[width];
    }

    /// <summary>Offers one activation (value &gt; 0) of feature <paramref name="j"/> on token <paramref name="tokenId"/>.</summary>
    public void Offer(int j, float value, int tokenId)
    {
        int n = _count[j], b = j * Hits;
        if (n == Hits && !(value > _val[b + Hits - 1])) return;
        int pos = n < Hits ? n : Hits - 1;
        if (n < Hits) _count[j] = n + 1;
        // stable: an equal value keeps the earlier token first
        while (pos > 0 && _val[b + pos - 1] < value)
        {
            _val[b + pos] = _val[b + pos - 1]; _tok[b + pos] = _tok[b + pos - 1];
            pos--;
        }
        _val[b + pos] = value; _tok[b + pos] = tokenId;
    }

    /// <summary>The kept (token id, value) hits of feature j, strongest first.</summary>
    public IEnumerable<(int TokenId, float Value)> Top(int j)
    {
        for (int e = 0; e < _count[j]; e++) yield return (_tok[j * Hits + e], _val[j * Hits + e]);
    }

    /// <summary>Labels of all features ("" for a feature that never fired or whose tokens have no text).</summary>
    public string[] Labels(Func<int, string> tokenText)
    {
        var labels = new string[_width];
        for (int j = 0; j < _width; j++) labels[j] = LabelOf(Top(j).Select(h => tokenText(h.TokenId)));
        return labels;
    }

    /// <summary>Up to four distinct cleaned tokens, in the given order.</summary>
    public static string LabelOf(IEnumerable<string> tokens) =>
        string.Join(", ", tokens.Select(Clean).Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).Take(4));

    /// <summary>A token's text without WordPiece/SentencePiece/BPE word markers.</summary>
    public static string Clean(string token) =>
        token.StartsWith("##", StringComparison.Ordinal) ? token[2..] : token.Replace('▁', ' ').Replace('Ġ', ' ').Trim();

    /// <summary>"#12 (bomb, explosive)", or "#12" without a label.</summary>
    public static string Name(int j, IReadOnlyList<string>? labels, int maxChars = 28)
    {
        var l = labels != null && j >= 0 && j < labels.Count ? labels[j] : "";
        if (string.IsNullOrEmpty(l)) return "#" + j;
        if (l.Length > maxChars) l = l[..(maxChars - 1)] + "…";
        return $"#{j} ({l})";
    }
}
