using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Models;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>Pooled raw activations and pooled SAE codes of a list of prompts.</summary>
public sealed class PromptFeatures
{
    public required int Count { get; init; }
    /// <summary>Activation width d.</summary>
    public required int D { get; init; }
    /// <summary>SAE width d_sae.</summary>
    public required int M { get; init; }
    /// <summary>[Count, D] pooled activations.</summary>
    public required float[] Dense { get; init; }
    /// <summary>[Count, M] pooled SAE codes.</summary>
    public required float[] Codes { get; init; }
    /// <summary>Each prompt's non-special token ids, in order.</summary>
    public required int[][] TokenIds { get; init; }
    /// <summary>Firing rates and top tokens over these prompts' tokens (when collected).</summary>
    public FeatureTokenStats? Stats { get; init; }
    /// <summary>Per prompt, its ordinary tokens' SAE codes [tokens, M] (when asked for).</summary>
    public float[][]? TokenCodes { get; init; }
    /// <summary>Prompts given as text: how each was tokenized (special tokens included).</summary>
    public IReadOnlyList<TokenizedText>? Tokenized { get; init; }

    public ReadOnlySpan<float> DenseRow(int i) => Dense.AsSpan(i * D, D);
    public ReadOnlySpan<float> CodeRow(int i) => Codes.AsSpan(i * M, M);
}

public static class SaeBatch
{
    /// <summary>SAE codes [rows, d_sae] of rows x [rows, d_in], encoded in parallel chunks.</summary>
    public static float[] Encode(SaeModel sae, float[] x, int rows)
    {
        int d = sae.DIn, m = sae.DSae;
        var z = new float[(long)rows * m];
        const int chunk = 128;
        int chunks = (rows + chunk - 1) / chunk;
        Parallel.For(0, chunks, c =>
        {
            int r0 = c * chunk, n = Math.Min(chunk, rows - r0);
            sae.Encode(x.AsSpan(r0 * d, n * d), n, z.AsSpan(r0 * m, n * m));
        });
        return z;
    }
}

/// <summary>Pools prompts that live in activation dumps (training and held-out sets).</summary>
public static class DumpFeaturizer
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

/// <summary>
/// Pools prompts given as text: tokenises and runs them through the model exactly as extract
/// does (rounding activations to f16 when the training dump stored f16), then encodes and pools.
/// </summary>
public sealed class TextFeaturizer
{
    readonly IActivationSource _source;
    readonly SaeModel _sae;
    readonly Pooling _pooling;
    readonly bool _roundToF16;

    public TextFeaturizer(IActivationSource source, SaeModel sae, Pooling pooling, bool roundToF16)
    {
        if (source.Width != sae.DIn)
            throw new UserError($"The model's layer {source.Layer} has width {source.Width}, but the SAE expects d_in = {sae.DIn}.");
        _source = source; _sae = sae; _pooling = pooling; _roundToF16 = roundToF16;
    }

    public IActivationSource Source => _source;

    /// <summary>
    /// The SAE codes [tokens, M] of every token of <paramref name="text"/>, special ones included,
    /// from the same (f16-rounded when trained on f16) activations scoring pools.
    /// </summary>
    public (TokenizedText Tokens, float[] Codes) TokenCodes(string text)
    {
        var tok = _source.Tokenize(text);
        var acts = _source.Run(new[] { tok })[0];
        if (_roundToF16) for (int i = 0; i < acts.Length; i++) acts[i] = (float)(Half)acts[i];
        return (tok, _sae.Encode(acts, tok.Length));
    }

    public PromptFeatures Run(IReadOnlyList<string> texts, bool keepTokenCodes = false, int topTokens = 0, ProgressBar? bar = null)
    {
        int d = _source.Width, m = _sae.DSae;
        var toks = texts.Select(_source.Tokenize).ToArray();
        var dense = new PoolingMatrix(texts.Count, d, _pooling, nonNegative: false);
        var codes = new PoolingMatrix(texts.Count, m, _pooling, nonNegative: true);
        var stats = topTokens > 0 ? new FeatureTokenStats(m, topTokens) : null;
        var tokenIds = new int[texts.Count][];
        var tokenCodes = keepTokenCodes ? new float[texts.Count][] : null;
        foreach (var batch in Extractor.MakeBatches(toks, new ExtractOptions()))
        {
            var outs = _source.Run(batch.Select(i => toks[i]).ToList());
            for (int b = 0; b < batch.Count; b++)
            {
                int p = batch[b];
                var t = toks[p];
                var rows = Enumerable.Range(0, t.Length).Where(i => !t.IsSpecial[i]).ToArray();
                var x = new float[rows.Length * d];
                for (int i = 0; i < rows.Length; i++)
                {
                    var src = outs[b].AsSpan(rows[i] * d, d);
                    var dst = x.AsSpan(i * d, d);
                    if (_roundToF16) for (int j = 0; j < d; j++) dst[j] = (float)(Half)src[j];
                    else src.CopyTo(dst);
                }
                var z = SaeBatch.Encode(_sae, x, rows.Length);
                for (int i = 0; i < rows.Length; i++)
                {
                    dense.Add(p, x.AsSpan(i * d, d));
                    codes.Add(p, z.AsSpan(i * m, m));
                    stats?.Add(z.AsSpan(i * m, m), p, i, t.Ids[rows[i]]);
                }
                tokenIds[p] = rows.Select(i => t.Ids[i]).ToArray();
                if (tokenCodes != null) tokenCodes[p] = z;
            }
            bar?.Advance(batch.Count, batch.Sum(i => toks[i].Length));
        }
        return new PromptFeatures
        {
            Count = texts.Count, D = d, M = m, Dense = dense.Finish(), Codes = codes.Finish(),
            TokenIds = tokenIds, Stats = stats, TokenCodes = tokenCodes, Tokenized = toks,
        };
    }
}
