using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>Pools prompts that live in activation dumps (training and held-out sets).</summary>
internal static class DumpFeaturizer
{
    public static PromptFeatures Run(IReadOnlyList<ActivationDump> dumps, IReadOnlyList<(int Dump, int DocId)> prompts,
        SaeModel sae, Pooling pooling, int topTokens = 8, string label = "pool")
    {
        int d = dumps[0].D, m = sae.DSae;
        var dense = new PoolingMatrix(prompts.Count, d, pooling, nonNegative: false);
        var codes = new PoolingMatrix(prompts.Count, m, pooling, nonNegative: true);
        var stats = topTokens > 0 ? new FeatureTokenStats(m, topTokens) : null;
        var tokenIds = prompts.Select(_ => new List<int>()).ToArray();
        long totalRows = 0;
        var index = new Dictionary<int, int>[dumps.Count];
        for (int k = 0; k < dumps.Count; k++) index[k] = new();
        for (int p = 0; p < prompts.Count; p++) index[prompts[p].Dump][prompts[p].DocId] = p;
        foreach (var dump in dumps.Where((_, k) => index[k].Count > 0)) totalRows += dump.NTokens;
        using var bar = new ProgressBar(label, totalRows, "tok");
        for (int k = 0; k < dumps.Count; k++)
        {
            if (index[k].Count == 0) continue;
            foreach (var block in dumps[k].ReadBlocks(4096))
            {
                var keep = new List<(int Row, int Prompt)>();
                for (int r = 0; r < block.Rows; r++)
                    if (!block.IsSpecial[r] && index[k].TryGetValue(block.DocIds[r], out var p)) keep.Add((r, p));
                if (keep.Count > 0)
                {
                    var x = new float[keep.Count * d];
                    for (int i = 0; i < keep.Count; i++) block.Row(keep[i].Row).CopyTo(x.AsSpan(i * d, d));
                    var z = SaeBatch.Encode(sae, x, keep.Count);
                    for (int i = 0; i < keep.Count; i++)
                    {
                        var (r, p) = keep[i];
                        dense.Add(p, x.AsSpan(i * d, d));
                        var zr = z.AsSpan(i * m, m);
                        codes.Add(p, zr);
                        stats?.Add(zr, p, tokenIds[p].Count, block.TokenIds[r]);
                        tokenIds[p].Add(block.TokenIds[r]);
                    }
                }
                bar.Advance(block.Rows);
            }
        }
        return new PromptFeatures
        {
            Count = prompts.Count, D = d, M = m,
            Dense = dense.Finish(), Codes = codes.Finish(),
            TokenIds = tokenIds.Select(t => t.ToArray()).ToArray(), Stats = stats,
        };
    }
}
