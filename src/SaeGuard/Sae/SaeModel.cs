using System.Numerics.Tensors;
using SaeGuard.Common;

namespace SaeGuard.Sae;

/// <summary>
/// A sparse autoencoder's weights, SAELens shapes: W_enc [d_in, d_sae], b_enc [d_sae],
/// W_dec [d_sae, d_in], b_dec [d_in], threshold [d_sae] (jumprelu). Row-major float32.
/// Encoding: pre = (x − b_dec·apply_b_dec_to_input) W_enc + b_enc, then the architecture's
/// activation (ReLU, TopK of ReLU, or JumpReLU); decoding: x̂ = z W_dec + b_dec.
/// </summary>
public sealed class SaeModel
{
    public SaeConfig Config { get; private set; }
    public float[] WEnc { get; }
    public float[] BEnc { get; }
    public float[] WDec { get; }
    public float[] BDec { get; }
    public float[]? Threshold { get; }
    public int DIn => Config.DIn;
    public int DSae => Config.DSae;

    float[]? _wEncT;

    public SaeModel(SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[]? threshold = null)
    {
        int d = config.DIn, m = config.DSae;
        Check(wEnc.Length == d * m, $"W_enc has {wEnc.Length} values, expected [d_in={d}, d_sae={m}]");
        Check(bEnc.Length == m, $"b_enc has {bEnc.Length} values, expected [{m}]");
        Check(wDec.Length == d * m, $"W_dec has {wDec.Length} values, expected [d_sae={m}, d_in={d}]");
        Check(bDec.Length == d, $"b_dec has {bDec.Length} values, expected [{d}]");
        if (config.Architecture == "jumprelu")
            Check(threshold != null && threshold.Length == m, $"a jumprelu SAE needs threshold [{m}]");
        if (config.Architecture == "topk")
            Check(config.K > 0 && config.K <= m, $"topk needs 0 < k ≤ d_sae, got k = {config.K}");
        Config = config;
        WEnc = wEnc; BEnc = bEnc; WDec = wDec; BDec = bDec; Threshold = threshold;
    }

    static void Check(bool ok, string what)
    {
        if (!ok) throw new UserError($"Invalid SAE: {what}.");
    }

    public SaeModel WithConfig(SaeConfig config) => new(config, WEnc, BEnc, WDec, BDec, Threshold);

    /// <summary>Call after changing weights in place (cached transposes are rebuilt).</summary>
    public void InvalidateCaches() => _wEncT = null;

    float[] WEncT()
    {
        if (_wEncT != null) return _wEncT;
        int d = DIn, m = DSae;
        var t = new float[d * m];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < m; j++) t[j * d + i] = WEnc[i * m + j];
        return _wEncT = t;
    }

    /// <summary>Pre-activations [rows, d_sae] for rows of x [rows, d_in].</summary>
    public void PreActivations(ReadOnlySpan<float> x, int rows, Span<float> pre)
    {
        int d = DIn, m = DSae;
        var wt = WEncT();
        var xc = new float[d];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * d, d);
            if (Config.ApplyBDecToInput) TensorPrimitives.Subtract(xr, BDec, xc); else xr.CopyTo(xc);
            var pr = pre.Slice(r * m, m);
            for (int j = 0; j < m; j++) pr[j] = TensorPrimitives.Dot(xc, wt.AsSpan(j * d, d)) + BEnc[j];
        }
    }

    /// <summary>Dense codes [rows, d_sae].</summary>
    public void Encode(ReadOnlySpan<float> x, int rows, Span<float> codes)
    {
        PreActivations(x, rows, codes);
        int m = DSae;
        for (int r = 0; r < rows; r++) Activate(codes.Slice(r * m, m));
    }

    public float[] Encode(ReadOnlySpan<float> x, int rows)
    {
        var z = new float[rows * DSae];
        Encode(x, rows, z);
        return z;
    }

    /// <summary>Applies the architecture's activation to one row of pre-activations, in place.</summary>
    public void Activate(Span<float> pre)
    {
        switch (Config.Architecture)
        {
            case "relu":
                TensorPrimitives.Max(pre, 0f, pre);
                break;
            case "jumprelu":
                for (int j = 0; j < pre.Length; j++) if (!(pre[j] > Threshold![j]) || pre[j] <= 0) pre[j] = 0;
                break;
            case "topk":
                TopK.KeepTopKPositive(pre, Config.K);
                break;
            default:
                throw new UserError($"Unknown SAE architecture '{Config.Architecture}'.");
        }
    }

    /// <summary>Reconstruction [rows, d_in] from dense codes.</summary>
    public void Decode(ReadOnlySpan<float> codes, int rows, Span<float> xhat)
    {
        int d = DIn, m = DSae;
        for (int r = 0; r < rows; r++)
        {
            var o = xhat.Slice(r * d, d);
            BDec.CopyTo(o);
            var z = codes.Slice(r * m, m);
            for (int j = 0; j < m; j++)
                if (z[j] != 0) TensorPrimitives.MultiplyAdd(WDec.AsSpan(j * d, d), z[j], o, o);
        }
    }
}

public static class TopK
{
    /// <summary>Keeps the k largest positive values of <paramref name="v"/> (ties: lower index first), zeroes the rest.</summary>
    public static void KeepTopKPositive(Span<float> v, int k)
    {
        if (k >= v.Length) { TensorPrimitives.Max(v, 0f, v); return; }
        Span<int> idx = k <= 1024 ? stackalloc int[k] : new int[k];
        int n = SelectTopK(v, k, idx);
        Span<float> keep = n <= 1024 ? stackalloc float[n] : new float[n];
        for (int i = 0; i < n; i++) keep[i] = v[idx[i]];
        v.Clear();
        for (int i = 0; i < n; i++) if (keep[i] > 0) v[idx[i]] = keep[i];
    }

    /// <summary>
    /// Indices of the k largest values (a min-heap over one pass); returns how many were found
    /// (min(k, length)). Order of the returned indices is unspecified.
    /// </summary>
    public static int SelectTopK(ReadOnlySpan<float> v, int k, Span<int> outIdx)
    {
        int n = Math.Min(k, v.Length);
        if (n == 0) return 0;
        // heap of (value, index) with the smallest at the root
        Span<float> hv = n <= 1024 ? stackalloc float[n] : new float[n];
        Span<int> hi = outIdx[..n];
        int size = 0;
        for (int i = 0; i < v.Length; i++)
        {
            float x = v[i];
            if (size < n)
            {
                int c = size++;
                hv[c] = x; hi[c] = i;
                while (c > 0) { int p = (c - 1) >> 1; if (Less(hv[c], hi[c], hv[p], hi[p])) { Swap(hv, hi, c, p); c = p; } else break; }
            }
            else if (Less(hv[0], hi[0], x, i))
            {
                hv[0] = x; hi[0] = i;
                int c = 0;
                while (true)
                {
                    int l = 2 * c + 1, r = l + 1, s = c;
                    if (l < n && Less(hv[l], hi[l], hv[s], hi[s])) s = l;
                    if (r < n && Less(hv[r], hi[r], hv[s], hi[s])) s = r;
                    if (s == c) break;
                    Swap(hv, hi, c, s); c = s;
                }
            }
        }
        return n;
    }

    // a "less" than b: smaller value, or equal value and larger index (so lower indices win ties)
    static bool Less(float av, int ai, float bv, int bi) => av < bv || (av == bv && ai > bi);

    static void Swap(Span<float> hv, Span<int> hi, int a, int b)
    {
        (hv[a], hv[b]) = (hv[b], hv[a]);
        (hi[a], hi[b]) = (hi[b], hi[a]);
    }
}
