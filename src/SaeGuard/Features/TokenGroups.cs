using SaeGuard.Data;

namespace SaeGuard.Features;

/// <summary>
/// Which label and which category each document's tokens belong to (from docs.jsonl), as small
/// indices for counting; documents without one are in no group of that kind.
/// </summary>
public sealed class TokenGroups
{
    public IReadOnlyList<string> Labels { get; }
    public IReadOnlyList<string> Categories { get; }
    readonly Dictionary<int, (int Label, int Category)> _ofDoc = new();
    readonly Dictionary<int, DocRecord> _docs = new();

    public TokenGroups(IReadOnlyList<DocRecord> docs)
    {
        Labels = docs.Select(d => d.Label).Where(l => !string.IsNullOrEmpty(l)).Select(l => l!).Distinct().Order(StringComparer.Ordinal).ToList();
        Categories = docs.Select(d => d.Category).Where(c => !string.IsNullOrEmpty(c)).Select(c => c!).Distinct().Order(StringComparer.Ordinal).ToList();
        var li = Labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i);
        var ci = Categories.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        foreach (var d in docs)
        {
            _docs[d.Id] = d;
            _ofDoc[d.Id] = (d.Label is { Length: > 0 } l ? li[l] : -1, d.Category is { Length: > 0 } c ? ci[c] : -1);
        }
    }

    /// <summary>(label index, category index) of a document, −1 where it has none.</summary>
    public (int Label, int Category) Of(int doc) => _ofDoc.TryGetValue(doc, out var g) ? g : (-1, -1);

    public DocRecord? Doc(int doc) => _docs.GetValueOrDefault(doc);
}
