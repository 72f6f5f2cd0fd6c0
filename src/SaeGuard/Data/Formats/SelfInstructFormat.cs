using System.Text.Json;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Self-Instruct JSON lines (<c>user_oriented_instructions.jsonl</c>, <c>seed_tasks.jsonl</c>):
/// <c>{"instruction", "instances": [{"input", "output"}]}</c>. The prompt is the instruction plus
/// the first instance's input; every row is benign.
/// </summary>
public static class SelfInstructFormat
{
    const string Shape = "Self-Instruct format: {\"instruction\", \"instances\": [{\"input\", \"output\"}]}";

    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        o = DataFormats.WithDefaults(o, label: Labels.Benign);
        foreach (var (where, item) in JsonRecords.Read(path))
        {
            JsonRecords.RequireObject(item, path, where, Shape);
            var instruction = JsonRecords.RequiredString(item, "instruction", path, where, Shape);
            string? input = null;
            if (item.TryGetProperty("instances", out var inst) && inst.ValueKind == JsonValueKind.Array && inst.GetArrayLength() > 0
                && inst[0].ValueKind == JsonValueKind.Object)
                input = JsonRecords.OptionalString(inst[0], "input", path, where);
            var text = InstructionText.Join(instruction, input);
            if (string.IsNullOrWhiteSpace(text)) continue;
            yield return CorpusReader.Make(path, 0, text, AlpacaFormat.Field(item, o.LabelColumn, path, where), AlpacaFormat.Field(item, o.CategoryColumn, path, where), o);
        }
    }
}
