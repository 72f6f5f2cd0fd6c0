using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Models;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>
/// Pools prompts given as text: tokenises and runs them through the model exactly as extract
/// does (rounding activations to f16 when the training dump stored f16), then encodes and pools.
/// </summary>
internal sealed class TextFeaturizer
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
        var peak = new int[texts.Count * m];
        Array.Fill(peak, -1);
        var peakValue = new float[m];
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
                PeakPositions(z, rows.Length, m, peak.AsSpan(p * m, m), peakValue);
                for (int i = 0; i < rows.Length; i++)
                {
                    dense.Add(p, x.AsSpan(i * d, d));
                    codes.Add(p, z.AsSpan(i * m, m));
                    stats?.Add(z.AsSpan(i * m, m), p, i, t.Ids[rows[i]]);
                }
                tokenIds[p] = rows.Select(i => t.Ids[i]).ToArray();
                if (tokenCodes != null) tokenCodes[p] = z;
                if (_pooling == Pooling.Last && t.IsTemplate is { Length: > 0 } template && template[^1])
                {
                    // A templated prompt pools to its last row, the template's assistant start.
                    var last = outs[b].AsSpan((t.Length - 1) * d, d).ToArray();
                    if (_roundToF16) for (int j = 0; j < d; j++) last[j] = (float)(Half)last[j];
                    dense.Add(p, last);
                    codes.Add(p, SaeBatch.Encode(_sae, last, 1));
                }
            }
            bar?.Advance(batch.Count, batch.Sum(i => toks[i].Length));
        }
        return new PromptFeatures
        {
            Count = texts.Count, D = d, M = m, Dense = dense.Finish(), Codes = codes.Finish(),
            TokenIds = tokenIds, Stats = stats, TokenCodes = tokenCodes, Tokenized = toks, PeakTokens = peak,
        };
    }

    /// <summary>Per feature, the row of <paramref name="z"/> [n, m] where it is largest (−1 where never above 0).</summary>
    static void PeakPositions(float[] z, int n, int m, Span<int> peak, float[] best)
    {
        Array.Clear(best);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                float v = z[i * m + j];
                if (v > best[j]) { best[j] = v; peak[j] = i; }
            }
    }
}
