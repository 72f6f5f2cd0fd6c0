using System.Numerics.Tensors;
using SaeGuard.Common;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Sae;

/// <summary>
/// A sparse autoencoder's weights, SAELens shapes: W_enc [d_in, d_sae], b_enc [d_sae],
/// W_dec [d_sae, d_in], b_dec [d_in], threshold [d_sae] (jumprelu). Row-major float32.
/// Encoding: pre = (x − b_dec·apply_b_dec_to_input) W_enc + b_enc, then the architecture's
/// activation (<see cref="SaeArchitecture.Activate"/>); decoding: x̂ = z W_dec + b_dec.
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

    float[]? _encBias;
    SaeArchitecture? _arch;

    /// <summary>The architecture <see cref="SaeConfig.Architecture"/> names (a <see cref="UserError"/> when it is unknown).</summary>
    public SaeArchitecture Arch => _arch ??= SaeArchitectures.Find(Config.Architecture) is { IsInference: true } a ? a
        : throw new UserError($"Unknown SAE architecture '{Config.Architecture}': an SAE encodes as one of {string.Join(", ", SaeArchitectures.InferenceNames)}.");

    public SaeModel(SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[]? threshold = null)
    {
        int d = config.DIn, m = config.DSae;
        Check(wEnc.Length == d * m, $"W_enc has {wEnc.Length} values, expected [d_in={d}, d_sae={m}]");
        Check(bEnc.Length == m, $"b_enc has {bEnc.Length} values, expected [{m}]");
        Check(wDec.Length == d * m, $"W_dec has {wDec.Length} values, expected [d_sae={m}, d_in={d}]");
        Check(bDec.Length == d, $"b_dec has {bDec.Length} values, expected [{d}]");
        if (SaeArchitectures.Find(config.Architecture)?.CheckModel(config, threshold) is { } why) Check(false, why);
        Config = config;
        WEnc = wEnc; BEnc = bEnc; WDec = wDec; BDec = bDec; Threshold = threshold;
    }

    static void Check(bool ok, string what)
    {
        if (!ok) throw new UserError($"Invalid SAE: {what}.");
    }

    public SaeModel WithConfig(SaeConfig config) => new(config, WEnc, BEnc, WDec, BDec, Threshold);

    /// <summary>Call after changing weights in place (cached derived values are rebuilt).</summary>
    public void InvalidateCaches() => _encBias = null;

    /// <summary>b_enc − b_dec·W_enc (when b_dec is applied to the input), so pre = x·W_enc + this.</summary>
    internal float[] EncoderBias()
    {
        var cached = _encBias;
        if (cached != null) return cached;
        int d = DIn, m = DSae;
        var bias = (float[])BEnc.Clone();
        if (Config.ApplyBDecToInput)
            for (int i = 0; i < d; i++)
                if (BDec[i] != 0) Backend.Simd.Axpy(-BDec[i], WEnc.AsSpan(i * m, m), bias);
        return _encBias = bias;
    }

    /// <summary>
    /// Pre-activations [rows, d_sae] for rows of x [rows, d_in]: one GEMM through
    /// <see cref="Backend.SaeBackends.Default"/> (in blocks of rows).
    /// </summary>
    public void PreActivations(ReadOnlySpan<float> x, int rows, Span<float> pre)
    {
        int d = DIn, m = DSae;
        if (x.Length < (long)rows * d) throw new ArgumentException($"x holds {x.Length} values, expected {rows}×{d}.");
        if (pre.Length < (long)rows * m) throw new ArgumentException($"pre holds {pre.Length} values, expected {rows}×{m}.");
        var bias = EncoderBias();
        int block = Math.Max(1, Math.Min(rows, (1 << 26) / m));
        for (int r = 0; r < rows; r += block)
        {
            int n = Math.Min(block, rows - r);
            Backend.SaeBackends.Default.Gemm(x.Slice(r * d, n * d), n, d, WEnc, m, false, bias, pre.Slice(r * m, n * m));
        }
    }

    /// <summary>Dense codes [rows, d_sae].</summary>
    public void Encode(ReadOnlySpan<float> x, int rows, Span<float> codes)
    {
        PreActivations(x, rows, codes);
        int m = DSae;
        if (rows < 64) { for (int r = 0; r < rows; r++) Activate(codes.Slice(r * m, m)); return; }
        unsafe
        {
            fixed (float* p = codes)
            {
                var ptr = (IntPtr)p;
                Parallel.For(0, (rows + 63) / 64, c =>
                {
                    var span = new Span<float>((float*)ptr, rows * m);
                    for (int r = c * 64; r < Math.Min(rows, c * 64 + 64); r++) Activate(span.Slice(r * m, m));
                });
            }
        }
    }

    /// <summary>Dense codes [tokens, d_sae] for one text's activations [tokens, d_in].</summary>
    public float[] Encode(ReadOnlySpan<float> activations)
    {
        if (activations.Length % DIn != 0)
            throw new ArgumentException($"{activations.Length} values are not whole rows of d_in = {DIn}.");
        return Encode(activations, activations.Length / DIn);
    }

    public float[] Encode(ReadOnlySpan<float> x, int rows)
    {
        var z = new float[rows * DSae];
        Encode(x, rows, z);
        return z;
    }

    /// <summary>Applies the architecture's activation to one row of pre-activations, in place.</summary>
    public void Activate(Span<float> pre) => Arch.Activate(pre, this);

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
