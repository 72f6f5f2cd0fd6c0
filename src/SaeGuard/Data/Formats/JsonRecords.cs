using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// The items of a JSON list (streamed item by item, never parsed whole) or of a JSON-lines file
/// (.gz allowed), each with where it is ("item 12" / "line 12") for error messages.
/// </summary>
internal static class JsonRecords
{
    public static IEnumerable<(string Where, JsonElement Item)> Read(string path) =>
        FirstChar(path) == '[' ? ReadList(path) : ReadLines(path);

    public static JsonElement RequireObject(JsonElement item, string path, string where, string what)
    {
        if (item.ValueKind != JsonValueKind.Object)
            throw new UserError($"'{path}', {where}: expected a JSON object ({what}), found {item.ValueKind.ToString().ToLowerInvariant()}.");
        return item;
    }

    /// <summary>A string field, or null when it is absent or JSON null; other kinds are an error.</summary>
    public static string? OptionalString(JsonElement obj, string name, string path, string where)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.ToString(),
            _ => throw new UserError($"'{path}', {where}: field '{name}' should be a string, found {v.ValueKind.ToString().ToLowerInvariant()}."),
        };
    }

    public static string RequiredString(JsonElement obj, string name, string path, string where, string what) =>
        OptionalString(obj, name, path, where)
        ?? throw new UserError($"'{path}', {where}: no '{name}' field ({what}); fields: {string.Join(", ", obj.EnumerateObject().Select(p => p.Name))}.");

    static int FirstChar(string path)
    {
        using var sr = Open(path);
        int c;
        try { while ((c = sr.Read()) >= 0 && char.IsWhiteSpace((char)c)) { } }
        catch (InvalidDataException e) { throw new UserError(e.Message); }
        if (c < 0) throw new UserError($"'{path}' is empty.");
        return c;
    }

    static StreamReader Open(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Input file not found: '{path}'.");
        return CorpusReader.OpenText(path);
    }

    /// <summary>The items of a JSON list, streamed, each within <see cref="JsonBudget"/> (depth, bytes).</summary>
    public static IEnumerable<(string Where, JsonElement Item)> ReadList(string path)
    {
        // the deserializer reads ahead by its buffer (≤ 1 MiB beyond a record), so that is allowed on top
        using var stream = new RecordBudgetStream(GzipFile.OpenRead(path), JsonBudget.MaxRecordChars + (1L << 20), path);
        using var items = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, JsonBudget.SerializerOptions).ToBlockingEnumerable().GetEnumerator();
        long row = 0;
        while (Next(items, path, row)) { stream.Mark(); yield return ($"item {++row}", items.Current); }
    }

    static bool Next(IEnumerator<JsonElement> items, string path, long row)
    {
        try { return items.MoveNext(); }
        // the deserializer parses ahead of the item handed out, so the file's line is the exact place
        catch (JsonException e) { throw JsonBudget.Invalid(e, path, e.LineNumber is { } l ? $"line {l + 1} (item {row + 1} or later)" : $"item {row + 1}"); }
        catch (InvalidDataException e) { throw new UserError($"{e.Message} (while reading item {row + 1})"); }
    }

    /// <summary>The objects of a JSON-lines file, each line within <see cref="JsonBudget"/> (length, depth).</summary>
    public static IEnumerable<(string Where, JsonElement Item)> ReadLines(string path)
    {
        using var sr = Open(path);
        var lines = new BoundedLineReader(sr, path, JsonBudget.MaxRecordChars);
        long row = 0;
        string? line;
        while ((line = ReadLine(lines, path, row)) != null)
        {
            row++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return ($"line {row}", ParseLine(line, lines, path, row));
        }
    }

    static string? ReadLine(BoundedLineReader sr, string path, long row)
    {
        try { return sr.ReadLine(); }
        catch (InvalidDataException e) { throw new UserError($"{e.Message} (after line {row})"); }
    }

    static JsonElement ParseLine(string line, BoundedLineReader sr, string path, long row)
    {
        try
        {
            using var doc = JsonDocument.Parse(line, JsonBudget.DocumentOptions);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            // A broken last line of a .gz is usually a truncated file: reading on to the end says so.
            ReadLine(sr, path, row);
            throw JsonBudget.Invalid(e, path, $"line {row}", "; expected one JSON object per line or a JSON list");
        }
    }
}
