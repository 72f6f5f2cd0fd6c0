using SaeGuard.Gguf.Testing;

namespace SaeGuard.Tests.Gguf;

/// <summary>
/// An independent float64 forward of a llama model as llama.cpp computes it: RMSNorm, RoPE on
/// adjacent pairs (llama.cpp's "normal" mode, θ = pos·base^(−2i/d_head)), causal GQA attention
/// (query head h reads KV head h / (n_head/n_head_kv)), SwiGLU, residual adds. Optionally adds a
/// steering vector to the output of one block, or rewrites a block's output (splicing).
/// </summary>
public static class LlamaReference
{
    public sealed record Result(double[][][] LayerOut, double[][] Logits);

    public static Result Forward(LlamaWeights w, IReadOnlyList<int> tokens, int steerLayer = -1, float[]? steer = null, Action<int, double[][]>? rewrite = null)
    {
        var s = w.Spec;
        int n = tokens.Count, d = s.NEmbd, hd = s.HeadDim, nh = s.NHead, nkv = s.NHeadKv, group = nh / nkv;
        var x = tokens.Select(t => Row(w.TokEmbd, t, d)).ToArray();
        var layerOut = new double[s.NLayer][][];
        for (int l = 0; l < s.NLayer; l++)
        {
            var L = w.Layers[l];
            var q = new double[n][]; var k = new double[n][]; var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var h = RmsNorm(x[t], L.AttnNorm, s.RmsEps);
                q[t] = Rope(MatVec(L.Wq, h, nh * hd), t, nh, hd, s.RopeBase);
                k[t] = Rope(MatVec(L.Wk, h, nkv * hd), t, nkv, hd, s.RopeBase);
                v[t] = MatVec(L.Wv, h, nkv * hd);
            }
            var next = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var heads = new double[nh * hd];
                for (int head = 0; head < nh; head++)
                {
                    int kvh = head / group;
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int j = 0; j <= t; j++)
                    {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) dot += q[t][head * hd + i] * k[j][kvh * hd + i];
                        scores[j] = dot / Math.Sqrt(hd);
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) sum += scores[j] = Math.Exp(scores[j] - max);
                    for (int j = 0; j <= t; j++)
                        for (int i = 0; i < hd; i++) heads[head * hd + i] += scores[j] / sum * v[j][kvh * hd + i];
                }
                var attn = MatVec(L.Wo, heads, d);
                var ffnIn = new double[d];
                for (int i = 0; i < d; i++) ffnIn[i] = attn[i] + x[t][i];
                var h2 = RmsNorm(ffnIn, L.FfnNorm, s.RmsEps);
                var gate = MatVec(L.Gate, h2, s.NFf);
                var up = MatVec(L.Up, h2, s.NFf);
                for (int i = 0; i < s.NFf; i++) gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                var down = MatVec(L.Down, gate, d);
                next[t] = new double[d];
                for (int i = 0; i < d; i++) next[t][i] = down[i] + ffnIn[i] + (l == steerLayer ? steer![i] : 0);
            }
            rewrite?.Invoke(l, next); // splicing tests: replace a block's output rows
            x = next;
            layerOut[l] = next;
        }
        var logits = x.Select(r => MatVec(w.Output, RmsNorm(r, w.OutputNorm, s.RmsEps), w.Vocab.Count)).ToArray();
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

    static double[] Row(float[] m, int r, int cols) => m.AsSpan(r * cols, cols).ToArray().Select(f => (double)f).ToArray();

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

    static double[] Rope(double[] x, int pos, int heads, int hd, double theBase)
    {
        var y = (double[])x.Clone();
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < hd; i += 2)
            {
                double theta = pos * Math.Pow(theBase, -(double)i / hd);
                double c = Math.Cos(theta), s = Math.Sin(theta);
                double a = x[h * hd + i], b = x[h * hd + i + 1];
                y[h * hd + i] = a * c - b * s;
                y[h * hd + i + 1] = a * s + b * c;
            }
        return y;
    }
}
