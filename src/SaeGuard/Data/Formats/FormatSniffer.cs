using System.Text;
using System.Text.Json;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Recognises the public corpora by their columns or fields, so <c>--format auto</c> reads them with
/// their own reader: AdvBench (<c>goal,target</c>), the forbidden question set, jailbreak prompt
/// CSVs, Galtea tables, hh-rlhf and SaeGuard corpus JSON lines. Anything else: null.
/// </summary>
public static class FormatSniffer
{
    public static string? Sniff(string path, string extension)
    {
        try
        {
            return extension switch
            {
                ".csv" => FromColumns(TabularFile.Columns(path)),
                ".parquet" => FromColumns(TabularFile.Columns(path)),
                ".jsonl" or ".ndjson" => FromFirstLine(path),
                _ => null,
            };
        }
        catch (Exception e) when (e is Common.UserError or IOException or InvalidDataException or JsonException or DecoderFallbackException)
        {
            return null; // the chosen reader reports the problem with the file
        }
    }

    static string? FromColumns(IReadOnlyList<string> columns)
    {
        bool Has(params string[] names) => names.All(columns.Contains);
        if (columns.Count == 2 && Has("goal", "target")) return "advbench";
        if (Has("content_policy_name", "question")) return "forbidden-questions";
        if (Has("platform", "prompt", "jailbreak")) return "jailbreak";
        if (Has("prompt", "cluster")) return "galtea";
        return null;
    }

    static string? FromFirstLine(string path)
    {
        using var sr = CorpusReader.OpenText(path);
        var line = sr.ReadLine();
        if (string.IsNullOrWhiteSpace(line)) return null;
        using var doc = JsonDocument.Parse(line);
        var o = doc.RootElement;
        if (o.ValueKind != JsonValueKind.Object) return null;
        bool Has(string name) => o.TryGetProperty(name, out _);
        if (Has("text") && Has("source")) return "corpus";
        if (Has("chosen") && Has("rejected")) return "hh-rlhf";
        if (HfMessagesFormat.Matches(o)) return "messages";
        return null;
    }
}
