namespace SaeGuard.Serving;

/// <summary>
/// Measures each SAE feature on a set of encoded documents: firing rate over non-special
/// tokens, mean and max activation, a histogram of non-zero activations, the top-activating
/// contexts (best token per document, ±<see cref="Window"/> tokens), and a short label from the
/// tokens it fires on most.
/// </summary>
public sealed class FeatureCatalogBuilder
{
    public int Window { get; init; } = 5;
    public int TopContexts { get; init; } = 10;
    public int Bins { get; init; } = 20;
    /// <summary>How many top contexts vote for the label.</summary>
    public int LabelVoters { get; init; } = 20;

    public FeatureCatalog Build(IReadOnlyList<TextCodes> docs, Func<int, string> tokenText, IReadOnlyList<float>? probeWeights = null)
    {
        if (docs.Count == 0) throw new ArgumentException("no documents to measure features on.");
        int m = docs[0].DSae;
        var count = new long[m];
        var sum = new double[m];
        var max = new float[m];
        var values = new List<float>[m];
        var best = new List<(float V, int Doc, int Pos)>[m];
        for (int j = 0; j < m; j++) { values[j] = new List<float>(); best[j] = new List<(float, int, int)>(); }
        long tokens = 0;

        var docBest = new Dictionary<int, (float V, int Pos)>();
        for (int d = 0; d < docs.Count; d++)
        {
            var doc = docs[d];
            docBest.Clear();
            for (int t = 0; t < doc.Tokens.Length; t++)
            {
                if (doc.Tokens.IsSpecial[t]) continue;
                tokens++;
                var row = doc.Row(t);
                for (int j = 0; j < m; j++)
                {
                    float v = row[j];
                    if (v == 0) continue;
                    count[j]++; sum[j] += v; values[j].Add(v);
                    if (v > max[j]) max[j] = v;
                    if (!docBest.TryGetValue(j, out var b) || v > b.V) docBest[j] = (v, t);
                }
            }
            foreach (var (j, b) in docBest) best[j].Add((b.V, d, b.Pos));
        }

        var features = new FeatureSummary[m];
        for (int j = 0; j < m; j++)
        {
            var ranked = best[j].OrderByDescending(b => b.V).ThenBy(b => b.Doc).ToList();
            features[j] = new FeatureSummary
            {
                Id = j,
                Label = Label(ranked.Take(LabelVoters), docs, tokenText),
                FiringRate = tokens == 0 ? 0 : (double)count[j] / tokens,
                MeanWhenActive = count[j] == 0 ? 0 : sum[j] / count[j],
                MaxActivation = max[j],
                ProbeWeight = probeWeights?[j] ?? 0,
                Histogram = Histogram(values[j], max[j]),
                TopContexts = ranked.Take(TopContexts).Select(b => Context(docs[b.Doc], b.Doc, b.Pos, b.V, tokenText)).ToArray(),
            };
        }
        return new FeatureCatalog(features, tokens);
    }

    FeatureHistogram Histogram(List<float> values, float max)
    {
        if (values.Count == 0) return new FeatureHistogram(Array.Empty<double>(), Array.Empty<long>());
        var edges = new double[Bins + 1];
        for (int i = 0; i <= Bins; i++) edges[i] = (double)max * i / Bins;
        var counts = new long[Bins];
        foreach (var v in values)
        {
            int b = max > 0 ? (int)(v / (double)max * Bins) : 0;
            counts[Math.Clamp(b, 0, Bins - 1)]++;
        }
        return new FeatureHistogram(edges, counts);
    }

    /// <summary>The firing token with up to <see cref="Window"/> non-special tokens on each side.</summary>
    FeatureContext Context(TextCodes doc, int docId, int pos, float v, Func<int, string> tokenText)
    {
        var before = new List<string>();
        for (int t = pos - 1; t >= 0 && before.Count < Window; t--)
            if (!doc.Tokens.IsSpecial[t]) before.Add(tokenText(doc.Tokens.Ids[t]));
        before.Reverse();
        var tokens = new List<string>(before) { tokenText(doc.Tokens.Ids[pos]) };
        int after = 0;
        for (int t = pos + 1; t < doc.Tokens.Length && after < Window; t++)
            if (!doc.Tokens.IsSpecial[t]) { tokens.Add(tokenText(doc.Tokens.Ids[t])); after++; }
        return new FeatureContext(docId, tokens, before.Count, v);
    }

    static string Label(IEnumerable<(float V, int Doc, int Pos)> top, IReadOnlyList<TextCodes> docs, Func<int, string> tokenText)
    {
        var votes = new Dictionary<string, double>();
        foreach (var (v, d, p) in top)
        {
            var tok = tokenText(docs[d].Tokens.Ids[p]);
            if (tok.StartsWith("##", StringComparison.Ordinal)) tok = tok[2..];
            votes[tok] = votes.GetValueOrDefault(tok) + v;
        }
        if (votes.Count == 0) return "(never fires)";
        return string.Join(" / ", votes.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(3).Select(kv => kv.Key));
    }
}
