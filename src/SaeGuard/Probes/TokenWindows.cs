using SaeGuard.Models;

namespace SaeGuard.Probes;

/// <summary>
/// Cuts a tokenised text that is longer than the model takes into overlapping model-sized windows,
/// so that a request placed after a long jailbreak preamble is still read. Each window is the
/// text's first and last special tokens around a run of at most <c>maxLength − 2</c> content tokens;
/// windows start every half window and the last one ends at the text's end. A text that fits is
/// one window, unchanged. A guard scores every window and keeps the highest score.
/// </summary>
public static class TokenWindows
{
    public sealed record Window(TokenizedText Tokens, int Start);

    public static IReadOnlyList<Window> Split(TokenizedText full, int maxLength)
    {
        if (full.Length <= maxLength) return new[] { new Window(full, 0) };
        if (maxLength < 4) throw new ArgumentOutOfRangeException(nameof(maxLength), "a window needs at least 4 tokens.");
        int n = full.Length - 2, w = maxLength - 2, stride = Math.Max(1, w / 2);
        var starts = new List<int>();
        for (int s = 0; ; s += stride)
        {
            if (s + w >= n) { starts.Add(n - w); break; }
            starts.Add(s);
        }
        return starts.Distinct().Select(s => new Window(Slice(full, s, w), s)).ToList();
    }

    static TokenizedText Slice(TokenizedText full, int start, int w)
    {
        var ids = new int[w + 2];
        var special = new bool[w + 2];
        ids[0] = full.Ids[0]; special[0] = full.IsSpecial[0];
        Array.Copy(full.Ids, 1 + start, ids, 1, w);
        Array.Copy(full.IsSpecial, 1 + start, special, 1, w);
        ids[^1] = full.Ids[^1]; special[^1] = full.IsSpecial[^1];
        return new TokenizedText(ids, special, false);
    }
}
