using System.Text;

namespace SaeGuard.Probes;

/// <summary>Joins tokens back into readable text (WordPiece "##" pieces glue to the previous token).</summary>
internal static class TokenJoin
{
    public static string Join(IEnumerable<string> tokens, bool continuing = false)
    {
        var sb = new StringBuilder();
        bool first = true;
        foreach (var t in tokens)
        {
            if (t.StartsWith("##")) sb.Append(t, 2, t.Length - 2);
            else if (t.StartsWith('▁') || t.StartsWith('Ġ')) sb.Append(' ').Append(t, 1, t.Length - 1);
            else
            {
                if (!first || continuing) sb.Append(' ');
                sb.Append(t);
            }
            first = false;
        }
        return sb.ToString();
    }
}
