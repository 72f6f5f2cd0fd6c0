using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Anthropic hh-rlhf JSON lines (usually .jsonl.gz): <c>{"chosen", "rejected"}</c>, each a dialogue
/// "\n\nHuman: …\n\nAssistant: …". Both share the human turns; documents come from <c>chosen</c>:
/// its first human turn (default), every human turn, or the whole dialogue. Unlabelled.
/// </summary>
public static class HhRlhfFormat
{
    const string HumanMark = "\n\nHuman:";
    const string AssistantMark = "\n\nAssistant:";

    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        var mode = Conversation.ParseMode(o.Turns);
        var field = o.TextColumn ?? "chosen";
        foreach (var (where, item) in JsonRecords.Read(path))
        {
            JsonRecords.RequireObject(item, path, where, "hh-rlhf: {\"chosen\", \"rejected\"}");
            var dialogue = JsonRecords.RequiredString(item, field, path, where, "hh-rlhf dialogues hold 'chosen' and 'rejected'");
            var turns = Parse(dialogue);
            if (!turns.Any(t => t.IsHuman))
                throw new UserError($"'{path}', {where}: '{field}' holds no \"\\n\\nHuman:\" turn; expected hh-rlhf dialogue text.");
            foreach (var text in Conversation.Documents(turns, mode))
                yield return CorpusReader.Make(path, 0, text, null, null, o);
        }
    }

    /// <summary>Splits "\n\nHuman: a\n\nAssistant: b…" into turns (text before the first mark is dropped).</summary>
    internal static List<Turn> Parse(string dialogue)
    {
        var turns = new List<Turn>();
        int pos = NextMark(dialogue, 0, out var role, out var markLen);
        while (pos >= 0)
        {
            int start = pos + markLen;
            int next = NextMark(dialogue, start, out var nextRole, out var nextLen);
            var text = dialogue[start..(next < 0 ? dialogue.Length : next)].Trim();
            turns.Add(new Turn(role, text));
            (pos, role, markLen) = (next, nextRole, nextLen);
        }
        return turns;
    }

    static int NextMark(string s, int from, out string role, out int length)
    {
        int h = s.IndexOf(HumanMark, from, StringComparison.Ordinal);
        int a = s.IndexOf(AssistantMark, from, StringComparison.Ordinal);
        if (h >= 0 && (a < 0 || h < a)) { role = "human"; length = HumanMark.Length; return h; }
        role = "assistant"; length = AssistantMark.Length;
        return a;
    }
}
