namespace SaeGuard.Data.Formats;

/// <summary>
/// Alpaca-style instruction sets, a JSON list (streamed) or JSON lines of
/// <c>{"instruction", "input"?, …}</c>: Stanford Alpaca, the refusal_direction harmless splits,
/// AlpacaEval outputs. The prompt is the instruction plus its input; every row is benign.
/// --text-column picks another field instead of the instruction.
/// </summary>
public static class AlpacaFormat
{
    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        o = DataFormats.WithDefaults(o, label: Labels.Benign);
        var field = o.TextColumn ?? "instruction";
        foreach (var (where, item) in JsonRecords.Read(path))
        {
            JsonRecords.RequireObject(item, path, where, "Alpaca format: {\"instruction\", \"input\"}");
            var instruction = JsonRecords.RequiredString(item, field, path, where, "Alpaca format: {\"instruction\", \"input\"}");
            var input = o.TextColumn == null ? JsonRecords.OptionalString(item, "input", path, where) : null;
            var text = InstructionText.Join(instruction, input);
            if (string.IsNullOrWhiteSpace(text)) continue;
            yield return CorpusReader.Make(path, 0, text, Field(item, o.LabelColumn, path, where), Field(item, o.CategoryColumn, path, where), o);
        }
    }

    internal static string? Field(System.Text.Json.JsonElement item, string? name, string path, string where) =>
        name == null ? null : JsonRecords.OptionalString(item, name, path, where);
}
