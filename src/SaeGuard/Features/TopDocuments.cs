using SaeGuard.Probes;

namespace SaeGuard.Features;

/// <summary>
/// Per feature, the N documents where it fires hardest, each with its strongest token: a bounded
/// list updated per firing (a document already listed keeps its larger value; otherwise the
/// weakest entry gives way), which streams to exactly the top N documents by maximum activation.
/// Top examples from distinct documents, as Neuronpedia shows them.
/// </summary>
sealed class TopDocuments
{
    readonly int _n;
    readonly TokenHit[] _hits;
    readonly int[] _count;
    readonly float[] _min;

    public TopDocuments(int features, int n)
    {
        _n = n;
        _hits = new TokenHit[(long)features * n];
        _count = new int[features];
        _min = new float[features];
    }

    /// <summary>Smallest listed value (−∞ while the list has room).</summary>
    public float Floor(int j) => _count[j] < _n ? float.NegativeInfinity : _min[j];

    public void Add(int j, float v, int doc, int position, int token)
    {
        int n = _count[j];
        if (n == _n && v <= _min[j]) return;
        var slots = _hits.AsSpan(j * _n, _n);
        int at = -1;
        for (int t = 0; t < n; t++) if (slots[t].Prompt == doc) { at = t; break; }
        if (at >= 0) { if (v <= slots[at].Value) return; }
        else if (n < _n) { at = n; _count[j] = ++n; }
        else { at = 0; for (int t = 1; t < n; t++) if (slots[t].Value < slots[at].Value) at = t; }
        slots[at] = new TokenHit(v, doc, position, token);
        if (n == _n)
        {
            float mn = float.MaxValue;
            for (int t = 0; t < n; t++) mn = Math.Min(mn, slots[t].Value);
            _min[j] = mn;
        }
    }

    public bool Contains(int j, int doc, int position)
    {
        var slots = _hits.AsSpan(j * _n, _count[j]);
        foreach (var h in slots) if (h.Prompt == doc && h.Position == position) return true;
        return false;
    }

    /// <summary>Strongest first, ties by document.</summary>
    public TokenHit[] Top(int j) =>
        _hits.AsSpan(j * _n, _count[j]).ToArray().OrderByDescending(h => h.Value).ThenBy(h => h.Prompt).ToArray();
}
