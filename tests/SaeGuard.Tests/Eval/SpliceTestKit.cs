using SaeGuard.Eval;
using SaeGuard.Gguf;
using SaeGuard.Models;
using SaeGuard.Sae;

namespace SaeGuard.Tests.Eval;

/// <summary>What the spliced-eval tests of every model kind share: test SAEs and documents sampled from the model itself.</summary>
static class SpliceTestKit
{
    public static SaeModel RandomSae(int d, int m, int k, int seed)
    {
        var rng = new Random(seed);
        float[] R(int n, double s) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * s)).ToArray();
        return new SaeModel(new SaeConfig { DIn = d, DSae = m, Architecture = "topk", K = k }, R(d * m, 0.3), new float[m], R(m * d, 0.3), new float[d]);
    }

    /// <summary>
    /// The same SAE with its decoder folded with a scale ×<paramref name="factor"/> (the H3 mistake: x̂
    /// comes out in the wrong units); b_enc is adjusted so that the codes stay exactly the same.
    /// </summary>
    public static SaeModel WrongDecoderScale(SaeModel sae, float factor)
    {
        int d = sae.DIn, m = sae.DSae;
        var bDec = sae.BDec.Select(v => v * factor).ToArray();
        var bEnc = (float[])sae.BEnc.Clone();
        for (int i = 0; i < d; i++)
            for (int j = 0; j < m; j++) bEnc[j] += (bDec[i] - sae.BDec[i]) * sae.WEnc[i * m + j];
        return new SaeModel(sae.Config, (float[])sae.WEnc.Clone(), bEnc, sae.WDec.Select(v => v * factor).ToArray(), bDec, sae.Threshold);
    }

    /// <summary>
    /// <paramref name="count"/> sequences sampled from the clean model (temperature 1, after
    /// <paramref name="bos"/>), <paramref name="length"/> tokens each: on its own samples the clean model has
    /// the lowest expected CE (E[CE_q] = H(p) + KL(p ‖ q)), so CE differences mean something even though
    /// the weights are random (on English text every variant is near log |V|).
    /// </summary>
    public static List<TokenizedText> Samples(ISplicedModel s, int count, int seed, int bos, Func<int, bool> isSpecial, int length = 40)
    {
        var rng = new Random(seed);
        var all = new List<TokenizedText>();
        TokenizedText Doc(List<int> q) => new(q.ToArray(), q.Select(isSpecial).ToArray(), false);
        for (int start = 0; start < count; start += 12)
        {
            var seqs = Enumerable.Range(0, Math.Min(12, count - start)).Select(_ => new List<int> { bos }).ToList();
            for (int step = 0; step < length; step++)
            {
                var logits = s.Forward(seqs.Select(Doc).ToList(), null);
                for (int i = 0; i < seqs.Count; i++)
                    seqs[i].Add(GgufSteerer.Pick(logits[i].AsSpan((seqs[i].Count - 1) * s.OutputWidth, s.OutputWidth), 1.0, rng));
            }
            all.AddRange(seqs.Select(Doc));
        }
        return all;
    }

    /// <summary>The hooked rows (BOS, position 0, left out) of <paramref name="docs"/>, for training a small SAE.</summary>
    public static float[] HookedRows(ISplicedModel s, IReadOnlyList<TokenizedText> docs)
    {
        var data = new List<float>();
        for (int start = 0; start < docs.Count; start += 12)
        {
            var pack = docs.Skip(start).Take(12).ToList();
            var hooked = new float[pack.Count][];
            s.Forward(pack, null, hooked);
            for (int i = 0; i < pack.Count; i++) data.AddRange(hooked[i].AsSpan(s.Width).ToArray());
        }
        return data.ToArray();
    }
}
