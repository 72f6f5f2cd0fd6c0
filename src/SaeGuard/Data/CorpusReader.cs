using System.Text;
using System.Text.Json;
using nietras.SeparatedValues;
using SaeGuard.Common;

namespace SaeGuard.Data;

public sealed record CorpusReadOptions
{
    /// <summary>auto | csv | jsonl | json | txt (more formats register through <see cref="CorpusReader.Formats"/>).</summary>
    public string Format { get; init; } = "auto";
    public string? TextColumn { get; init; }
    public string? LabelColumn { get; init; }
    public string? CategoryColumn { get; init; }
    /// <summary>A label given to every row (e.g. "AdvBench is harmful").</summary>
    public string? FixedLabel { get; init; }
    public string? FixedCategory { get; init; }
    public string? Source { get; init; }
    /// <summary>Conversation formats (sharegpt, hh-rlhf): first | all | conversation (null = first).</summary>
    public string? Turns { get; init; }
    /// <summary>Read CSV with broken quoting as best the parser can instead of refusing it (--csv-lenient).</summary>
    public bool CsvLenient { get; init; }
}

/// <summary>
/// Streams documents out of CSV, JSONL, JSON-list and TXT files with column options. Each bad
/// row is a <see cref="UserError"/> naming the file and the row.
/// </summary>
public static class CorpusReader
{
    static CorpusReader() => global::SaeGuard.Data.Formats.DataFormats.RegisterAll();

    public delegate IEnumerable<DocRecord> FormatReader(string path, CorpusReadOptions options);

    /// <summary>Named formats; the datasets module adds its own (parquet, sharegpt, hh-rlhf, …).</summary>
    public static readonly Dictionary<string, FormatReader> Formats = new(StringComparer.OrdinalIgnoreCase)
    {
        ["csv"] = ReadCsv,
        ["tsv"] = ReadCsv,
        ["jsonl"] = ReadJsonl,
        ["json"] = ReadJsonList,
        ["txt"] = ReadTxt,
    };

    static readonly string[] TextColumnGuesses = { "text", "prompt", "goal", "instruction", "question", "content", "query" };

    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions? options = null)
    {
        options ??= new CorpusReadOptions();
        bool arrowFolder = Directory.Exists(path) && global::SaeGuard.Data.Formats.ArrowDatasetFormat.Matches(path);
        if (!File.Exists(path) && !arrowFolder) throw new UserError($"Input file not found: '{path}'.");
        var format = options.Format == "auto" ? (arrowFolder ? "arrow" : GuessFormat(path)) : options.Format;
        if (!Formats.TryGetValue(format, out var reader))
            throw new UserError($"Unknown input format '{format}' for '{path}' (known: {string.Join(", ", Formats.Keys)}).");
        options = options with { Source = options.Source ?? Path.GetFileNameWithoutExtension(path) };
        int id = 0;
        bool any = false;
        using var docs = reader(path, options).GetEnumerator();
        while (true)
        {
            try { if (!docs.MoveNext()) break; }
            catch (Exception e) when (IsParserFailure(e))
            {
                throw new UserError($"'{path}' cannot be read as {format}: {e.Message}");
            }
            any = true;
            yield return docs.Current with { Id = id++ };
        }
        if (!any) throw new UserError($"'{path}' holds no documents (empty file or no non-empty text).");
    }

    /// <summary>What a format library throws on a damaged or hostile file (never a user mistake worth a trace).</summary>
    static bool IsParserFailure(Exception e) =>
        e is InvalidOperationException or ArgumentException or FormatException or InvalidDataException or DecoderFallbackException
            or IndexOutOfRangeException or OverflowException or NotSupportedException or EndOfStreamException or InvalidCastException
            or NullReferenceException or KeyNotFoundException or JsonException or NotImplementedException;

    public static string GuessFormat(string path)
    {
        var p = path.ToLowerInvariant();
        if (p.EndsWith(".gz")) p = p[..^3];
        var ext = Path.GetExtension(p);
        if (ext == ".json")
        {
            // A ShareGPT file is a JSON list whose objects hold "conversations".
            if (Formats.ContainsKey("sharegpt") && LooksLikeShareGpt(path)) return "sharegpt";
            if (Formats.ContainsKey("messages") && StartsWithChatList(path)) return "messages";
            return "json";
        }
        if (global::SaeGuard.Data.Formats.FormatSniffer.Sniff(path, ext) is { } known) return known;
        if (ext == ".jsonl" && Formats.ContainsKey("hh-rlhf") && p.Contains("hh")) return "hh-rlhf";
        return ext switch
        {
            ".csv" => "csv",
            ".tsv" => "tsv",
            ".jsonl" or ".ndjson" => "jsonl",
            ".txt" or ".raw" or ".text" => "txt",
            ".parquet" => "parquet",
            ".arrow" => "arrow",
            _ => throw new UserError($"Cannot tell the format of '{path}' from its extension; pass --format csv|jsonl|json|txt|parquet|sharegpt|hh-rlhf."),
        };
    }

    static bool LooksLikeShareGpt(string path)
    {
        using var fs = File.OpenRead(path);
        var buf = new byte[4096];
        int n = fs.Read(buf);
        return Encoding.UTF8.GetString(buf, 0, n).Contains("\"conversations\"");
    }

    /// <summary>A JSON list whose first item has a "messages" list (HF chat format).</summary>
    static bool StartsWithChatList(string path)
    {
        using var fs = File.OpenRead(path);
        var buf = new byte[4096];
        int n = fs.Read(buf);
        var head = Encoding.UTF8.GetString(buf, 0, n).TrimStart();
        return head.StartsWith('[') && head.AsSpan(1).TrimStart().StartsWith("{") && head.Contains("\"messages\"");
    }

    internal static string? ResolveColumn(IReadOnlyList<string> names, string? wanted, string path, string what, bool required)
    {
        if (wanted != null)
        {
            var hit = names.FirstOrDefault(n => n == wanted) ?? names.FirstOrDefault(n => n.Equals(wanted, StringComparison.OrdinalIgnoreCase));
            if (hit == null) throw new UserError($"'{path}' has no {what} column '{wanted}' (columns: {string.Join(", ", names)}).");
            return hit;
        }
        if (!required) return null;
        var guess = TextColumnGuesses.Select(g => names.FirstOrDefault(n => n.Equals(g, StringComparison.OrdinalIgnoreCase))).FirstOrDefault(n => n != null);
        return guess ?? throw new UserError($"'{path}': no text column given and none of {string.Join("/", TextColumnGuesses)} found (columns: {string.Join(", ", names)}); pass --text-column.");
    }

    internal static DocRecord Make(string path, long row, string text, string? label, string? category, CorpusReadOptions o) => new()
    {
        Text = text,
        Label = Labels.Normalize(label ?? o.FixedLabel, path, row),
        Category = string.IsNullOrWhiteSpace(category) ? o.FixedCategory : category.Trim(),
        Source = o.Source ?? "",
    };

    static IEnumerable<DocRecord> ReadCsv(string path, CorpusReadOptions o)
    {
        if (new FileInfo(path).Length == 0) throw new UserError($"'{path}' is empty.");
        char sepChar = path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? '\t' : ',';
        if (!o.CsvLenient) global::SaeGuard.Data.Formats.CsvQuoting.Validate(path, sepChar);
        var sepOpts = Sep.Reader(r => r with { Unescape = true, DisableColCountCheck = false, Sep = path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? new Sep('\t') : new Sep(',') });
        SepReader reader;
        try { reader = sepOpts.FromFile(path); }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or NotSupportedException)
        {
            throw new UserError($"'{path}' is not a readable CSV file: {e.Message}");
        }
        using (reader)
        {
            var names = reader.Header.ColNames;
            var textCol = ResolveColumn(names, o.TextColumn, path, "text", true)!;
            var labelCol = ResolveColumn(names, o.LabelColumn, path, "label", false);
            var catCol = ResolveColumn(names, o.CategoryColumn, path, "category", false);
            long row = 1;
            while (true)
            {
                try { if (!reader.MoveNext()) break; }
                catch (Exception e) when (e is InvalidDataException or ArgumentException or NotSupportedException or IndexOutOfRangeException)
                {
                    throw new UserError($"'{path}', row {row + 1}: malformed CSV ({e.Message}).");
                }
                row++;
                var r = reader.Current;
                if (r.ColCount != names.Count)
                    throw new UserError($"'{path}', row {row}: {r.ColCount} fields, expected {names.Count} as in the header (a broken quote?).");
                var text = r[textCol].ToString();
                if (string.IsNullOrWhiteSpace(text)) continue;
                yield return Make(path, row, text, labelCol != null ? r[labelCol].ToString() : null, catCol != null ? r[catCol].ToString() : null, o);
            }
        }
    }

    static IEnumerable<DocRecord> ReadJsonl(string path, CorpusReadOptions o)
    {
        string? textCol = o.TextColumn;
        foreach (var (where, item) in global::SaeGuard.Data.Formats.JsonRecords.ReadLines(path))
        {
            if (item.ValueKind != JsonValueKind.Object) throw new UserError($"'{path}', {where}: expected a JSON object.");
            var rec = FromObject(item, path, long.Parse(where.AsSpan(5)), o, ref textCol);
            if (rec != null) yield return rec;
        }
    }

    static IEnumerable<DocRecord> ReadJsonList(string path, CorpusReadOptions o)
    {
        using (var sr = OpenText(path))
        {
            int c;
            while ((c = sr.Read()) >= 0 && char.IsWhiteSpace((char)c)) { }
            if (c < 0) throw new UserError($"'{path}' is empty.");
            if (c != '[') throw new UserError($"'{path}': expected a JSON list of objects or strings.");
        }
        long row = 0;
        string? textCol = o.TextColumn;
        foreach (var (where, el) in global::SaeGuard.Data.Formats.JsonRecords.ReadList(path))
        {
            row++;
            if (el.ValueKind == JsonValueKind.String)
            {
                var s = el.GetString()!;
                if (!string.IsNullOrWhiteSpace(s)) yield return Make(path, row, s, null, null, o);
                continue;
            }
            if (el.ValueKind != JsonValueKind.Object) throw new UserError($"'{path}', {where}: expected an object or a string.");
            var rec = FromObject(el, path, row, o, ref textCol);
            if (rec != null) yield return rec;
        }
    }

    static DocRecord? FromObject(JsonElement obj, string path, long row, CorpusReadOptions o, ref string? textCol)
    {
        var names = obj.EnumerateObject().Select(p => p.Name).ToList();
        textCol ??= ResolveColumn(names, null, path, "text", true);
        if (!obj.TryGetProperty(textCol!, out var t))
            throw new UserError($"'{path}', row {row}: no '{textCol}' field (fields: {string.Join(", ", names)}).");
        var text = t.ValueKind == JsonValueKind.String ? t.GetString()! : t.ToString();
        if (string.IsNullOrWhiteSpace(text)) return null;
        string? Field(string? name)
        {
            if (name == null) return null;
            if (!obj.TryGetProperty(name, out var v)) throw new UserError($"'{path}', row {row}: no '{name}' field (fields: {string.Join(", ", names)}).");
            return v.ValueKind switch { JsonValueKind.Null => null, JsonValueKind.String => v.GetString(), _ => v.ToString() };
        }
        return Make(path, row, text, Field(o.LabelColumn), Field(o.CategoryColumn), o);
    }

    static IEnumerable<DocRecord> ReadTxt(string path, CorpusReadOptions o)
    {
        using var sr = OpenText(path);
        long row = 0;
        string? line;
        while ((line = sr.ReadLine()) != null)
        {
            row++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return Make(path, row, line.Trim(), null, null, o);
        }
    }

    public static StreamReader OpenText(string path)
    {
        Stream s = global::SaeGuard.Data.Formats.GzipFile.OpenRead(path);
        return new StreamReader(s, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
    }
}
