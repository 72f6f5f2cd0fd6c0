using SaeGuard.Common;
using SaeGuard.Models;
using SaeGuard.Probes;
using SaeGuard.Sae;

namespace SaeGuard.Serving;

/// <summary>A text's tokens and its SAE codes, row-major [tokens, DSae].</summary>
public sealed record TextCodes(TokenizedText Tokens, float[] Codes, int DSae)
{
    public ReadOnlySpan<float> Row(int token) => Codes.AsSpan(token * DSae, DSae);
}

/// <summary>
/// Texts → model activations → SAE codes per token → one pooled feature vector per text.
/// Batches are formed from texts of similar length so padding stays small; each text's
/// result does not depend on its batch (padding is masked).
/// </summary>
public static class TextFeatures
{
    public static void CheckCompatible(IActivationSource source, SaeModel sae)
    {
        if (source.Width != sae.DIn)
            throw new UserError($"The SAE reads d_in = {sae.DIn} but {source.ModelName} layer {source.Layer} has width {source.Width}.");
    }

    /// <summary>Token activations [tokens, width] per text, in input order.</summary>
    public static (TokenizedText Tokens, float[] Acts)[] Activations(IActivationSource source, IReadOnlyList<string> texts, int batchSize = 32)
    {
        var tokens = new TokenizedText[texts.Count];
        for (int i = 0; i < texts.Count; i++) tokens[i] = source.Tokenize(texts[i]);
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => tokens[i].Length).ToArray();
        var result = new (TokenizedText, float[])[texts.Count];
        for (int start = 0; start < order.Length; start += batchSize)
        {
            var idx = order.Skip(start).Take(batchSize).ToArray();
            var outs = source.Run(idx.Select(i => tokens[i]).ToArray());
            for (int j = 0; j < idx.Length; j++) result[idx[j]] = (tokens[idx[j]], outs[j]);
        }
        return result;
    }

    /// <summary>SAE codes per token, in input order.</summary>
    public static TextCodes[] Encode(IActivationSource source, SaeModel sae, IReadOnlyList<string> texts, int batchSize = 32)
    {
        return Encode(sae, Activations(source, texts, batchSize));
    }

    public static TextCodes[] Encode(SaeModel sae, IReadOnlyList<(TokenizedText Tokens, float[] Acts)> acts)
    {
        var codes = new TextCodes[acts.Count];
        for (int i = 0; i < acts.Count; i++)
            codes[i] = new TextCodes(acts[i].Tokens, sae.Encode(acts[i].Acts, acts[i].Tokens.Length), sae.DSae);
        return codes;
    }

    /// <summary>
    /// One vector per text over its non-special tokens: mean, max, or the last token's codes
    /// (<see cref="PoolingMatrix"/>). A text with no ordinary token pools to zeros.
    /// </summary>
    public static float[] Pool(TextCodes text, string pooling)
    {
        var pooled = new PoolingMatrix(1, text.DSae, PoolingNames.Parse(pooling), nonNegative: true);
        for (int t = 0; t < text.Tokens.Length; t++)
            if (!text.Tokens.IsSpecial[t]) pooled.Add(0, text.Row(t));
        return pooled.Finish();
    }
}
