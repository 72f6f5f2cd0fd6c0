using System.Numerics.Tensors;
using SaeGuard.Common;
using SaeGuard.Sae;

namespace SaeGuard.Features;

/// <summary>A model's unembedding: Weights[v·D + i] is token v's output row, Tokens[v] its text.</summary>
public sealed record Unembedding(float[] Weights, int Vocab, int D, IReadOnlyList<string> Tokens, string Source);

/// <summary>The tokens a feature's decoder row most promotes and most suppresses (Neuronpedia's pos_str/neg_str).</summary>
public sealed record TopLogits(List<string> PosStr, List<double> PosValues, List<string> NegStr, List<double> NegValues);

/// <summary>
/// Logit lens of decoder directions: the logit change W_U·dⱼ each feature's decoder row dⱼ causes,
/// straight through the unembedding (no final norm, as SAE-Vis and Neuronpedia compute it).
/// Cost O(d_sae · vocab · d_in).
/// </summary>
public static class LogitLens
{
    public static TopLogits[] Of(SaeModel sae, Unembedding u, int k = 10)
    {
        if (u.D != sae.DIn)
            throw new UserError($"'{u.Source}': the unembedding has width {u.D} but the SAE's d_in is {sae.DIn}: the logit lens needs the model whose residual stream the SAE reads.");
        int m = sae.DSae, d = sae.DIn;
        var result = new TopLogits[m];
        using var bar = new ProgressBar("features: logit lens", m, "features");
        Parallel.For(0, m, j =>
        {
            var dir = sae.WDec.AsSpan(j * d, d);
            var logits = new float[u.Vocab];
            for (int v = 0; v < u.Vocab; v++) logits[v] = TensorPrimitives.Dot(dir, u.Weights.AsSpan(v * d, d));
            var order = Enumerable.Range(0, u.Vocab).OrderByDescending(v => logits[v]).ThenBy(v => v).ToArray();
            var pos = order.Take(k).ToList();
            var neg = order.Reverse().Take(k).ToList();
            string T(int v) => v < u.Tokens.Count ? u.Tokens[v] : $"[{v}]";
            result[j] = new TopLogits(pos.Select(T).ToList(), pos.Select(v => Math.Round((double)logits[v], 6)).ToList(),
                neg.Select(T).ToList(), neg.Select(v => Math.Round((double)logits[v], 6)).ToList());
            lock (bar) bar.Advance(1);
        });
        return result;
    }
}
