namespace SaeGuard.Data.Formats;

/// <summary>
/// SaeGuard's own corpus JSON lines (<c>corpus.jsonl</c> from <c>data mix</c>, <c>docs.jsonl</c> of a
/// dump): <c>{"id", "text", "label"?, "category"?, "source"}</c>, each row keeping its own source.
/// </summary>
public static class CorpusFormat
{
    const string Shape = "SaeGuard corpus: {\"id\", \"text\", \"label\", \"category\", \"source\"}";

    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        foreach (var (where, item) in JsonRecords.Read(path))
        {
            JsonRecords.RequireObject(item, path, where, Shape);
            var text = JsonRecords.RequiredString(item, o.TextColumn ?? "text", path, where, Shape);
            if (string.IsNullOrWhiteSpace(text)) continue;
            var doc = CorpusReader.Make(path, 0, text,
                JsonRecords.OptionalString(item, o.LabelColumn ?? "label", path, where),
                JsonRecords.OptionalString(item, o.CategoryColumn ?? "category", path, where), o);
            var source = JsonRecords.OptionalString(item, "source", path, where);
            yield return string.IsNullOrEmpty(source) ? doc : doc with { Source = source };
        }
    }
}
