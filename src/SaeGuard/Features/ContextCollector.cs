using SaeGuard.Activations;

namespace SaeGuard.Features;

/// <summary>
/// Pass 3: for every context a page will show (a feature, a document, a centre position), the
/// feature's activation at each token within ±window of the centre. Requests are indexed by
/// document, so memory grows with the contexts asked for, not with the dump.
/// </summary>
sealed class ContextCollector
{
    public sealed class Request
    {
        public int Feature, Doc, Centre, Lo, Hi;
        public readonly List<(int Position, int TokenId, float Value)> Tokens = new();
    }

    readonly int _m, _window;
    readonly Dictionary<int, List<Request>> _byDoc = new();

    public ContextCollector(int m, int window) { _m = m; _window = window; }

    public Request Ask(int feature, int doc, int centre)
    {
        var r = new Request { Feature = feature, Doc = doc, Centre = centre, Lo = centre - _window, Hi = centre + _window };
        if (!_byDoc.TryGetValue(doc, out var list)) _byDoc[doc] = list = new List<Request>();
        list.Add(r);
        return r;
    }

    public void Add(RowBlock b)
    {
        for (int r = 0; r < b.Rows; r++)
        {
            if (!_byDoc.TryGetValue(b.DocIds[r], out var list)) continue;
            int pos = b.Positions[r];
            foreach (var q in list)
                if (pos >= q.Lo && pos <= q.Hi) q.Tokens.Add((pos, b.TokenIds[r], b.Data[(long)r * _m + q.Feature]));
        }
    }

    public static ContextExample ToExample(Request q, Func<int, string> tokenText, TokenGroups groups)
    {
        var toks = q.Tokens.OrderBy(t => t.Position).ToList();
        int centre = Math.Max(0, toks.FindIndex(t => t.Position == q.Centre));
        var doc = groups.Doc(q.Doc);
        return new ContextExample
        {
            Doc = q.Doc, Position = q.Centre, Centre = centre,
            Tokens = toks.Select(t => tokenText(t.TokenId)).ToList(),
            Values = toks.Select(t => t.Value).ToList(),
            Value = toks.Count > centre ? toks[centre].Value : 0,
            Label = doc?.Label, Category = doc?.Category,
        };
    }
}
