using System.Text;
using SaeGuard.Data;
using SaeGuard.Data.Guard;
using SaeGuard.Models;

namespace SaeGuard.Probes;

/// <summary>
/// Guard-set rows as a model reads them: a row longer than the model takes becomes one row per
/// <see cref="TokenWindows"/> window, written back as text (word pieces joined, so the uncased
/// WordPiece tokenizer reads the same ids again). A window that holds at least half of the wrapped
/// request keeps the row's label; a window of template text only is benign, because the template
/// alone must not decide. Rows that fit are passed through.
/// </summary>
public static class GuardTrainingWindows
{
    public const string TemplateOnlyCategory = "template-only";

    public static IReadOnlyList<GuardRow> Expand(IEnumerable<GuardRow> rows, ITextTokenizer tokenizer, int maxLength)
    {
        var list = new List<GuardRow>();
        foreach (var row in rows)
        {
            var full = tokenizer.Encode(row.Text, 1 << 20);
            var windows = TokenWindows.Split(full, maxLength);
            if (windows.Count == 1) { list.Add(row); continue; }
            var (reqStart, reqLen) = RequestSpan(tokenizer, row);
            foreach (var w in windows)
            {
                int wl = w.Tokens.Length - 2;
                int overlap = Math.Max(0, Math.Min(w.Start + wl, reqStart + reqLen) - Math.Max(w.Start, reqStart));
                bool hasRequest = overlap * 2 >= reqLen;
                list.Add(row with
                {
                    Text = Decode(tokenizer, w.Tokens),
                    Label = hasRequest ? row.Label : Labels.Benign,
                    Category = hasRequest ? row.Category : TemplateOnlyCategory,
                });
            }
        }
        return list;
    }

    /// <summary>Content-token span of the wrapped request inside the row's text (the whole text for plain rows).</summary>
    public static (int Start, int Length) RequestSpan(ITextTokenizer tokenizer, GuardRow row)
    {
        int len = tokenizer.Encode(row.BaseText, 1 << 20).Length - 2;
        if (row.Template == "") return (0, len);
        int at = row.Text.IndexOf(row.BaseText, StringComparison.Ordinal);
        if (at < 0) return (0, len);
        int pre = at == 0 ? 0 : tokenizer.Encode(row.Text[..at], 1 << 20).Length - 2;
        return (pre, len);
    }

    /// <summary>The non-special word pieces as text: "##" pieces glued to the previous one, others space-separated;
    /// continuation pieces before the first whole word are dropped.</summary>
    public static string Decode(ITextTokenizer tokenizer, TokenizedText tokens)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens.IsSpecial[i]) continue;
            var piece = tokenizer.TokenText(tokens.Ids[i]);
            if (piece.StartsWith("##", StringComparison.Ordinal))
            {
                // A window cut inside a word starts with continuation pieces; they cannot be written back, so they are dropped.
                if (sb.Length > 0) sb.Append(piece, 2, piece.Length - 2);
            }
            else { if (sb.Length > 0) sb.Append(' '); sb.Append(piece); }
        }
        return sb.ToString();
    }
}
