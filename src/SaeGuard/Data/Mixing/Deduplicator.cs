using System.Text;

namespace SaeGuard.Data.Mixing;

/// <summary>
/// Drops repeated documents across sources, the first occurrence winning (sources in recipe order).
/// Exact: identical text. Near: identical after lower-casing, dropping punctuation and symbols,
/// and collapsing whitespace.
/// </summary>
public static class Deduplicator
{
    /// <summary>For each source, its documents without duplicates, and how many were removed.</summary>
    public static (List<List<DocRecord>> Kept, int[] Removed) Run(IReadOnlyList<IReadOnlyList<DocRecord>> sources, DedupMode mode)
    {
        var kept = new List<List<DocRecord>>();
        var removed = new int[sources.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int s = 0; s < sources.Count; s++)
        {
            var list = new List<DocRecord>(sources[s].Count);
            foreach (var doc in sources[s])
            {
                if (mode == DedupMode.None || seen.Add(Key(doc.Text, mode))) list.Add(doc);
                else removed[s]++;
            }
            kept.Add(list);
        }
        return (kept, removed);
    }

    public static string Key(string text, DedupMode mode)
    {
        if (mode != DedupMode.Near) return text;
        var key = Normalize(text);
        return key.Length > 0 ? key : text; // texts of symbols only stay exact
    }

    /// <summary>Lower-case letters and digits, single spaces between words.</summary>
    public static string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool space = false;
        foreach (var ch in text)
        {
            if (char.IsLetterOrDigit(ch))
            {
                if (space && sb.Length > 0) sb.Append(' ');
                sb.Append(char.ToLowerInvariant(ch));
                space = false;
            }
            else if (char.IsWhiteSpace(ch)) space = true;
        }
        return sb.ToString();
    }
}
