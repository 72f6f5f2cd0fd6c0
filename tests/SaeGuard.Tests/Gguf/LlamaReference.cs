using SaeGuard.Gguf.Testing;

namespace SaeGuard.Tests.Gguf;

/// <summary>
/// An independent float64 forward of every <see cref="TinyFamily"/> as llama.cpp computes it:
/// RMSNorm (x · w; Gemma's GGUF stores HF's w + 1), RoPE on adjacent pairs (llama) or on the two
/// halves (NEOX: qwen2, gemma2, phi3), θ = pos·base^(−2i/d_head) / rope_freqs[i], causal GQA
/// attention (query head h reads KV head h / (n_head/n_head_kv)), SwiGLU (GeGLU with tanh-GELU on
/// Gemma 2, its input and output rounded to f16 as llama.cpp's CPU GELU table does), residual adds.
/// Gemma 2 also: embeddings × √d, the post-attention and post-FFN norms, attention scores and logits
/// soft-capped, and a sliding window on the even blocks. Mistral's and Phi-3's sliding window is
/// not applied (llama.cpp ignores it). Optionally adds a steering vector to the output of one block, or rewrites a block's output (splicing).
/// </summary>
public static class LlamaReference
{
    public sealed record Result(double[][][] LayerOut, double[][] Logits);

    public static Result Forward(LlamaWeights w, IReadOnlyList<int> tokens, int steerLayer = -1, float[]? steer = null, Action<int, double[][]>? rewrite = null)
    {
        var s = w.Spec;
        bool gemma = s.Family == TinyFamily.Gemma2;
        bool neox = s.Family is TinyFamily.Qwen2 or TinyFamily.Gemma2 or TinyFamily.Phi3;
        int n = tokens.Count, d = s.NEmbd, hd = s.HeadDim, nh = s.NHead, nkv = s.NHeadKv, group = nh / nkv;
        double embScale = gemma ? Math.Sqrt(d) : 1;
        var x = tokens.Select(t => Row(w.TokEmbd, t, d).Select(v => v * embScale).ToArray()).ToArray();
        var layerOut = new double[s.NLayer][][];
        for (int l = 0; l < s.NLayer; l++)
        {
            var L = w.Layers[l];
            int window = gemma && l % 2 == 0 ? s.SlidingWindow : 0;
            var q = new double[n][]; var k = new double[n][]; var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var h = RmsNorm(x[t], L.AttnNorm, s.RmsEps);
                q[t] = Rope(Add(MatVec(L.Wq, h, nh * hd), L.Bq), t, nh, hd, s.RopeBase, neox, w.RopeFreqs);
                k[t] = Rope(Add(MatVec(L.Wk, h, nkv * hd), L.Bk), t, nkv, hd, s.RopeBase, neox, w.RopeFreqs);
                v[t] = Add(MatVec(L.Wv, h, nkv * hd), L.Bv);
            }
            var next = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var heads = new double[nh * hd];
                int first = window > 0 ? Math.Max(0, t - window + 1) : 0;
                for (int head = 0; head < nh; head++)
                {
                    int kvh = head / group;
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int j = first; j <= t; j++)
                    {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) dot += q[t][head * hd + i] * k[j][kvh * hd + i];
                        scores[j] = dot / Math.Sqrt(hd);
                        if (s.AttnSoftcap > 0) scores[j] = s.AttnSoftcap * Math.Tanh(scores[j] / s.AttnSoftcap);
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = first; j <= t; j++) sum += scores[j] = Math.Exp(scores[j] - max);
                    for (int j = first; j <= t; j++)
                        for (int i = 0; i < hd; i++) heads[head * hd + i] += scores[j] / sum * v[j][kvh * hd + i];
                }
                var attn = MatVec(L.Wo, heads, d);
                if (L.PostAttnNorm != null) attn = RmsNorm(attn, L.PostAttnNorm, s.RmsEps);
                var ffnIn = new double[d];
                for (int i = 0; i < d; i++) ffnIn[i] = attn[i] + x[t][i];
                var h2 = RmsNorm(ffnIn, L.FfnNorm, s.RmsEps);
                var gate = MatVec(L.Gate, h2, s.NFf);
                var up = MatVec(L.Up, h2, s.NFf);
                for (int i = 0; i < s.NFf; i++) gate[i] = (gemma ? GeluF16(gate[i]) : gate[i] / (1 + Math.Exp(-gate[i]))) * up[i];
                var down = MatVec(L.Down, gate, d);
                if (L.PostFfnNorm != null) down = RmsNorm(down, L.PostFfnNorm, s.RmsEps);
                next[t] = new double[d];
                for (int i = 0; i < d; i++) next[t][i] = down[i] + ffnIn[i] + (l == steerLayer ? steer![i] : 0);
            }
            rewrite?.Invoke(l, next); // splicing tests: replace a block's output rows
            x = next;
            layerOut[l] = next;
        }
        var logits = x.Select(r => MatVec(w.Output, RmsNorm(r, w.OutputNorm, s.RmsEps), w.Vocab.Count)).ToArray();
        if (s.FinalSoftcap > 0)
            foreach (var row in logits)
                for (int i = 0; i < row.Length; i++) row[i] = s.FinalSoftcap * Math.Tanh(row[i] / s.FinalSoftcap);
        return new Result(layerOut, logits);
    }

    /// <summary>Greedy continuation (argmax, lowest id on ties), stopping at an end-of-generation token.</summary>
    public static int[] Greedy(LlamaWeights w, IReadOnlyList<int> prompt, int maxNew, int steerLayer = -1, float[]? steer = null, ISet<int>? stop = null)
    {
        var seq = prompt.ToList();
        var output = new List<int>();
        while (output.Count < maxNew)
        {
            var logits = Forward(w, seq, steerLayer, steer).Logits[^1];
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
            if (stop != null && stop.Contains(best)) break;
            output.Add(best);
            seq.Add(best);
        }
        return output.ToArray();
    }

    /// <summary>
    /// tanh-GELU as llama.cpp's CPU kernel computes it: 0 below −10, x above 10, else a table indexed
    /// by the f16 of x holding the f16 of GELU (computed in float).
    /// </summary>
    static double GeluF16(double x)
    {
        float f = (float)x;
        if (f <= -10f) return 0;
        if (f >= 10f) return f;
        float h = (float)(Half)f;
        const float sqrt2OverPi = 0.79788456080286535587989211986876f, a = 0.044715f;
        float g = 0.5f * h * (1.0f + MathF.Tanh(sqrt2OverPi * h * (1.0f + a * h * h)));
        return (float)(Half)g;
    }

    static double[] Row(float[] m, int r, int cols) => m.AsSpan(r * cols, cols).ToArray().Select(f => (double)f).ToArray();

    static double[] Add(double[] x, float[]? bias)
    {
        if (bias != null) for (int i = 0; i < x.Length; i++) x[i] += bias[i];
        return x;
    }

    static double[] MatVec(float[] m, double[] x, int rows)
    {
        int cols = x.Length;
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double acc = 0;
            for (int c = 0; c < cols; c++) acc += m[r * cols + c] * x[c];
            y[r] = acc;
        }
        return y;
    }

    static double[] RmsNorm(double[] x, float[] weight, double eps)
    {
        double ms = x.Sum(v => v * v) / x.Length;
        double scale = 1 / Math.Sqrt(ms + eps);
        return x.Select((v, i) => v * scale * weight[i]).ToArray();
    }

    /// <summary>Rotates pairs (2i, 2i+1), or with <paramref name="neox"/> pairs (i, i + hd/2), by pos·base^(−2i/hd) / factor[i].</summary>
    static double[] Rope(double[] x, int pos, int heads, int hd, double theBase, bool neox, float[]? factors)
    {
        var y = (double[])x.Clone();
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < hd / 2; i++)
            {
                double theta = pos * Math.Pow(theBase, -2.0 * i / hd) / (factors?[i] ?? 1.0);
                double c = Math.Cos(theta), s = Math.Sin(theta);
                int ia = h * hd + (neox ? i : 2 * i), ib = neox ? ia + hd / 2 : ia + 1;
                double a = x[ia], b = x[ib];
                y[ia] = a * c - b * s;
                y[ib] = a * s + b * c;
            }
        return y;
    }
}
