using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// ShareGPT JSON: <c>[{"id", "conversations": [{"from": "human"|"gpt", "value"}]}]</c>, streamed item by
/// item (JSON lines of the same objects also work). <see cref="CorpusReadOptions.Turns"/> picks the
/// first human turn (default), every human turn, or the whole conversation. Unlabelled.
/// </summary>
public static class ShareGptFormat
{
    const string Shape = "ShareGPT format: {\"id\", \"conversations\": [{\"from\", \"value\"}]}";

    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        var mode = Conversation.ParseMode(o.Turns);
        foreach (var (where, item) in JsonRecords.Read(path))
        {
            var obj = JsonRecords.RequireObject(item, path, where, Shape);
            if (!obj.TryGetProperty("conversations", out var conv) || conv.ValueKind != JsonValueKind.Array)
                throw new UserError($"'{path}', {where}: no 'conversations' list ({Shape}); fields: {string.Join(", ", obj.EnumerateObject().Select(p => p.Name))}. Is this a ShareGPT file?");
            var turns = new List<Turn>();
            int i = 0;
            foreach (var t in conv.EnumerateArray())
            {
                i++;
                var turnWhere = $"{where}, turn {i}";
                JsonRecords.RequireObject(t, path, turnWhere, Shape);
                var from = JsonRecords.RequiredString(t, "from", path, turnWhere, Shape);
                var value = JsonRecords.OptionalString(t, "value", path, turnWhere) ?? "";
                turns.Add(new Turn(Role(from), value));
            }
            foreach (var text in Conversation.Documents(turns, mode))
                yield return CorpusReader.Make(path, 0, text, null, null, o);
        }
    }

    static string Role(string from) => from.Trim().ToLowerInvariant() switch
    {
        "human" or "user" => "human",
        "system" => "system",
        _ => "assistant", // gpt, chatgpt, bing, bard, assistant, model
    };
}
