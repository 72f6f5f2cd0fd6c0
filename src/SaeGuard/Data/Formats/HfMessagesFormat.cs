using System.Text;
using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Hugging Face chat data: <c>{"messages": [{"role": "user"|"assistant"|"system", "content": …}], …}</c>
/// as JSON lines or a JSON list (.gz allowed). <c>content</c> is a string or a list of parts
/// (<c>[{"type": "text", "text": …}]</c>; non-text parts are skipped). <see cref="CorpusReadOptions.Turns"/>
/// picks the first user turn (default), every user turn, or the whole conversation; label and
/// category come from the columns named by --label-column / --category-column.
/// </summary>
public static class HfMessagesFormat
{
    const string Shape = "chat format: {\"messages\": [{\"role\", \"content\"}]}";

    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        var mode = Conversation.ParseMode(o.Turns);
        foreach (var (where, item) in JsonRecords.Read(path))
        {
            var obj = JsonRecords.RequireObject(item, path, where, Shape);
            if (!obj.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
                throw new UserError($"'{path}', {where}: no 'messages' list ({Shape}); fields: {string.Join(", ", obj.EnumerateObject().Select(p => p.Name))}.");
            var turns = new List<Turn>();
            int i = 0;
            foreach (var m in messages.EnumerateArray())
            {
                var turnWhere = $"{where}, message {++i}";
                JsonRecords.RequireObject(m, path, turnWhere, Shape);
                var role = JsonRecords.RequiredString(m, "role", path, turnWhere, Shape);
                turns.Add(new Turn(Role(role), Content(m, path, turnWhere)));
            }
            var label = o.LabelColumn != null ? Field(obj, o.LabelColumn, path, where) : null;
            var category = o.CategoryColumn != null ? Field(obj, o.CategoryColumn, path, where) : null;
            foreach (var text in Conversation.Documents(turns, mode))
                yield return CorpusReader.Make(path, 0, text, label, category, o);
        }
    }

    /// <summary>Whether a JSON object (a record's first line) has the chat shape.</summary>
    internal static bool Matches(JsonElement obj) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Array;

    internal static string Role(string role) => role.Trim().ToLowerInvariant() switch
    {
        "user" or "human" => "human",
        "system" or "developer" => "system",
        _ => "assistant", // assistant, model, gpt, tool
    };

    static string Content(JsonElement message, string path, string where)
    {
        if (!message.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return "";
        switch (c.ValueKind)
        {
            case JsonValueKind.String:
                return c.GetString() ?? "";
            case JsonValueKind.Array:
                var sb = new StringBuilder();
                foreach (var part in c.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.String) { Append(sb, part.GetString()); continue; }
                    if (part.ValueKind != JsonValueKind.Object)
                        throw new UserError($"'{path}', {where}: a content part should be an object or a string, found {part.ValueKind.ToString().ToLowerInvariant()}.");
                    var type = JsonRecords.OptionalString(part, "type", path, where);
                    if (type is null or "text") Append(sb, JsonRecords.OptionalString(part, "text", path, where));
                }
                return sb.ToString();
            default:
                throw new UserError($"'{path}', {where}: 'content' should be a string or a list of parts, found {c.ValueKind.ToString().ToLowerInvariant()}.");
        }
    }

    static void Append(StringBuilder sb, string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        if (sb.Length > 0) sb.Append('\n');
        sb.Append(text);
    }

    static string? Field(JsonElement obj, string name, string path, string where)
    {
        if (!obj.TryGetProperty(name, out _))
            throw new UserError($"'{path}', {where}: no field '{name}' (fields: {string.Join(", ", obj.EnumerateObject().Select(p => p.Name))}).");
        return JsonRecords.OptionalString(obj, name, path, where);
    }
}
