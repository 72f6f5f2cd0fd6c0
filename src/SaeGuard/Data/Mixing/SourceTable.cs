using System.Text;

namespace SaeGuard.Data.Mixing;

/// <summary>One source's line of the table: examples and tokens, with shares and label counts.</summary>
public sealed record SourceRow(string Source, long Examples, double ExamplesPct, long Tokens, double TokensPct,
    long Harmful, long Benign, long Unlabelled);

/// <summary>
/// The seed-style corpus table: per source, examples (count, %) and tokens (count, %), plus the
/// label counts; sources in the given order, else in order of first appearance.
/// </summary>
public sealed class SourceTable
{
    public IReadOnlyList<SourceRow> Rows { get; }
    public long TotalExamples { get; }
    public long TotalTokens { get; }

    public SourceTable(IReadOnlyList<DocRecord> docs, IReadOnlyList<int> tokens, IEnumerable<string>? sourceOrder = null)
    {
        if (docs.Count != tokens.Count) throw new ArgumentException("one token count per document");
        var order = new List<string>();
        var acc = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var s in sourceOrder ?? Enumerable.Empty<string>())
            if (acc.TryAdd(s, new long[5])) order.Add(s);
        for (int i = 0; i < docs.Count; i++)
        {
            var d = docs[i];
            if (!acc.TryGetValue(d.Source, out var a)) { acc[d.Source] = a = new long[5]; order.Add(d.Source); }
            a[0]++;
            a[1] += tokens[i];
            a[d.Label == Labels.Harmful ? 2 : d.Label == Labels.Benign ? 3 : 4]++;
        }
        TotalExamples = docs.Count;
        TotalTokens = acc.Values.Sum(a => a[1]);
        Rows = order.Select(s =>
        {
            var a = acc[s];
            return new SourceRow(s, a[0], Pct(a[0], TotalExamples), a[1], Pct(a[1], TotalTokens), a[2], a[3], a[4]);
        }).ToList();
    }

    static double Pct(long part, long total) => total == 0 ? 0 : 100.0 * part / total;

    /// <summary>The examples/tokens table as fixed-width text.</summary>
    public string Format()
    {
        int w = Math.Max(12, Rows.Max(r => r.Source.Length));
        var sb = new StringBuilder();
        sb.AppendLine($"{"source".PadRight(w)}  {"examples",10} {"%",7}  {"tokens",13} {"%",7}");
        foreach (var r in Rows)
            sb.AppendLine($"{r.Source.PadRight(w)}  {r.Examples,10:N0} {r.ExamplesPct,6:F1}%  {r.Tokens,13:N0} {r.TokensPct,6:F1}%");
        sb.AppendLine($"{"total".PadRight(w)}  {TotalExamples,10:N0} {100.0,6:F1}%  {TotalTokens,13:N0} {100.0,6:F1}%");
        return sb.ToString();
    }

    /// <summary>Per source: harmful / benign / unlabelled counts.</summary>
    public string FormatLabels()
    {
        int w = Math.Max(12, Rows.Max(r => r.Source.Length));
        var sb = new StringBuilder();
        sb.AppendLine($"{"source".PadRight(w)}  {"harmful",10} {"benign",10} {"unlabelled",10}");
        foreach (var r in Rows)
            sb.AppendLine($"{r.Source.PadRight(w)}  {r.Harmful,10:N0} {r.Benign,10:N0} {r.Unlabelled,10:N0}");
        return sb.ToString();
    }
}
