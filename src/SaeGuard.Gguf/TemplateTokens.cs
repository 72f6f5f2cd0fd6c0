namespace SaeGuard.Gguf;

/// <summary>Which tokens of a rendered chat the template added: every token outside the messages' own text.</summary>
internal static class TemplateTokens
{
    /// <summary>
    /// Lines the tokens' bytes up with the rendered text (a space the SPM tokenizer prefixed, or a BOS it
    /// added, is matched to nothing) and flags each token that overlaps no content span.
    /// </summary>
    public static bool[] Flag(GgufModel model, IReadOnlyList<int> ids, byte[] text, IReadOnlyList<(int Start, int End)> spans)
    {
        var flags = new bool[ids.Count];
        int pos = 0;
        bool prevSpecial = false;
        for (int i = 0; i < ids.Count; i++)
        {
            var piece = model.TokenBytes(ids[i]);
            bool special = model.IsSpecial(ids[i]);
            // Special tokens may swallow the whitespace around them (llama.cpp's lstrip/rstrip token attributes).
            int skip = 0, end = -1;
            while (true)
            {
                int at = pos + skip;
                if (Matches(text, at, piece, 0)) end = at + piece.Length;
                else if (piece.Length > 0 && piece[0] == (byte)' ' && Matches(text, at, piece, 1)) end = at + piece.Length - 1;
                if (end >= 0 || !(special || prevSpecial) || at >= text.Length || !IsSpace(text[at])) break;
                skip++;
            }
            if (end < 0 && special) { skip = 0; end = pos; } // a BOS the tokenizer added
            if (end < 0) throw new InvalidOperationException($"token {i} (id {ids[i]}, '{model.TokenText(ids[i])}') does not line up with the rendered chat text at byte {pos}.");
            int start = pos + skip;
            pos = end;
            prevSpecial = special;
            bool content = false;
            foreach (var (s, e) in spans) content |= start < e && end > s;
            flags[i] = !content;
        }
        return flags;
    }

    static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\t' or (byte)'\r';

    static bool Matches(byte[] text, int pos, byte[] piece, int from)
    {
        int n = piece.Length - from;
        return pos + n <= text.Length && text.AsSpan(pos, n).SequenceEqual(piece.AsSpan(from));
    }
}
