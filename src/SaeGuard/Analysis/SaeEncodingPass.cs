using System.Numerics.Tensors;
using SaeGuard.Activations;
using SaeGuard.Sae;

namespace SaeGuard.Analysis;

/// <summary>What encoding the activations with the SAE showed (H2 and H3 evidence).</summary>
public sealed record ReconstructionStats
{
    public long Tokens { get; init; }
    /// <summary>Mean ‖x‖ of the analysed activations.</summary>
    public double MeanNorm { get; init; }
    /// <summary>1 − Σ‖x − x̂‖² / Σ‖x − x̄‖².</summary>
    public double ExplainedVariance { get; init; }
    /// <summary>mean ‖x − x̂‖² / mean ‖x‖².</summary>
    public double Nmse { get; init; }
    public double PreActivationMean { get; init; }
    public double PreActivationStd { get; init; }
    /// <summary>Fraction of latents whose mean pre-activation over the tokens is &gt; 0.</summary>
    public double FeaturesWithPositiveMeanPre { get; init; }
    /// <summary>Explained variance of s·x on a sample of tokens, for a few scales s.</summary>
    public IReadOnlyList<(double Scale, double ExplainedVariance)> ScaleProbe { get; init; } = Array.Empty<(double, double)>();
}

/// <summary>
/// Encodes activation blocks with an SAE on the fly (<see cref="SaeModel.PreActivations"/> then
/// the architecture's activation), yielding code blocks for <see cref="FeatureAnalyzer"/> while
/// accumulating the reconstruction error, activation norms and pre-activation statistics; keeps a
/// small seeded sample of activation rows to measure explained variance at other input scales.
/// With a device (<see cref="SaeGuard.Sae.Device.DeviceSaeEncoder"/>), the GEMM and the activation run
/// there and the pre-activations and codes come back per block; the statistics and decoding stay here.
/// </summary>
public sealed class SaeEncodingPass : IDisposable
{
    const int ProbeRows = 256;
    readonly SaeModel _sae;
    readonly double[] _sumX;
    readonly double[] _sumPreFeature;
    readonly float[] _probe;
    readonly Random _rng;
    int _probeCount;
    long _tokens;
    double _sumNorm, _sumSq, _sumErr, _sumPre, _sumPreSq;

    readonly SaeGuard.Sae.Device.DeviceSaeEncoder? _device;
    readonly FloatRowReader _preBuffers = new();

    /// <summary>Where encoding runs, as recorded in the report ("cpu", "ilgpu-cpu", "cuda:0 …").</summary>
    public string Device => _device?.Device ?? SaeGuard.Sae.Device.SaeDevice.CpuName;

    /// <param name="sae">The SAE that encodes each block of activations.</param>
    /// <param name="seed">Seed of the token sample.</param>
    /// <param name="device">cpu (null), cuda, ilgpu-cpu or auto (<see cref="SaeGuard.Sae.Device.SaeDevice.Resolve"/>).</param>
    /// <param name="blockRows">Rows encoded per block.</param>
    public SaeEncodingPass(SaeModel sae, int seed = 0, string? device = null, int blockRows = 4096)
    {
        _sae = sae;
        var dev = SaeGuard.Sae.Device.SaeDevice.Resolve(device);
        if (dev.IsIlgpu) _device = new SaeGuard.Sae.Device.DeviceSaeEncoder(sae, dev, blockRows);
        _sumX = new double[sae.DIn];
        _sumPreFeature = new double[sae.DSae];
        _probe = new float[ProbeRows * sae.DIn];
        _rng = new Random(seed ^ 0x5ae);
    }

    readonly FloatRowReader _buffers = new(), _xhat = new();

    /// <summary>Code blocks for the activation blocks; a code block's array is reused by the next one.</summary>
    public IEnumerable<RowBlock> Encode(IEnumerable<RowBlock> activations)
    {
        foreach (var b in activations) yield return EncodeBlock(b);
    }

    public RowBlock EncodeBlock(RowBlock x)
    {
        int d = _sae.DIn, m = _sae.DSae, rows = x.Rows;
        var codes = _buffers.Buffer((long)rows * m);
        // host: pre-activations into the codes buffer, activated in place below; device: both come back
        var preAll = codes;
        if (_device != null)
        {
            preAll = _preBuffers.Buffer((long)rows * m);
            _device.Encode(x.Data.AsSpan(0, rows * d), rows, codes, preAll);
        }
        else _sae.PreActivations(x.Data.AsSpan(0, rows * d), rows, codes);
        var preSum = new float[m];
        for (int r = 0; r < rows; r++)
        {
            var pre = preAll.AsSpan(r * m, m);
            TensorPrimitives.Add(preSum, pre, preSum);
            _sumPre += TensorPrimitives.Sum(pre);
            _sumPreSq += TensorPrimitives.SumOfSquares(pre);
        }
        for (int j = 0; j < m; j++) _sumPreFeature[j] += preSum[j];
        if (_device == null) Parallel.For(0, rows, r => _sae.Activate(codes.AsSpan(r * m, m)));
        var xhat = _xhat.Buffer((long)rows * d);
        _sae.Decode(codes, rows, xhat);
        var diff = new float[d];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Data.AsSpan(r * d, d);
            double sq = TensorPrimitives.SumOfSquares(xr);
            _sumSq += sq; _sumNorm += Math.Sqrt(sq);
            TensorPrimitives.Subtract(xr, xhat.AsSpan(r * d, d), diff);
            _sumErr += TensorPrimitives.SumOfSquares(diff);
            for (int i = 0; i < d; i++) _sumX[i] += xr[i];
            OfferProbe(xr);
        }
        _tokens += rows;
        return new RowBlock { Data = codes, Rows = rows, D = m, RowIds = x.RowIds, DocIds = x.DocIds, Positions = x.Positions, TokenIds = x.TokenIds, IsSpecial = x.IsSpecial };
    }

    public void Dispose() => _device?.Dispose();

    void OfferProbe(ReadOnlySpan<float> row)
    {
        long t = _probeSeen++;
        long slot = t < ProbeRows ? t : _rng.NextInt64(t + 1);
        if (slot >= ProbeRows) return;
        row.CopyTo(_probe.AsSpan((int)slot * _sae.DIn));
        _probeCount = (int)Math.Min(ProbeRows, t + 1);
    }
    long _probeSeen;

    public ReconstructionStats Finish(IEnumerable<double>? probeScales = null)
    {
        long n = Math.Max(1, _tokens);
        double meanSq = 0;
        for (int i = 0; i < _sumX.Length; i++) meanSq += (_sumX[i] / n) * (_sumX[i] / n);
        double totalVar = _sumSq - n * meanSq;
        long preN = n * _sae.DSae;
        double preMean = _sumPre / preN;
        var scales = (probeScales ?? new[] { 1.0 }).Distinct().OrderBy(s => s).ToList();
        return new ReconstructionStats
        {
            Tokens = _tokens,
            MeanNorm = _sumNorm / n,
            ExplainedVariance = totalVar > 0 ? 1 - _sumErr / totalVar : double.NaN,
            Nmse = _sumSq > 0 ? _sumErr / _sumSq : double.NaN,
            PreActivationMean = preMean,
            PreActivationStd = Math.Sqrt(Math.Max(0, _sumPreSq / preN - preMean * preMean)),
            FeaturesWithPositiveMeanPre = _sumPreFeature.Count(s => s > 0) / (double)_sae.DSae,
            ScaleProbe = scales.Select(s => (s, ExplainedVarianceAtScale(s))).ToList(),
        };
    }

    /// <summary>Explained variance of the SAE on the probe rows multiplied by <paramref name="scale"/>.</summary>
    public double ExplainedVarianceAtScale(double scale)
    {
        int d = _sae.DIn, rows = _probeCount;
        if (rows == 0) return double.NaN;
        var x = new float[rows * d];
        TensorPrimitives.Multiply(_probe.AsSpan(0, rows * d), (float)scale, x);
        var z = _sae.Encode(x, rows);
        var xhat = new float[rows * d];
        _sae.Decode(z, rows, xhat);
        var mean = new double[d];
        for (int r = 0; r < rows; r++) for (int i = 0; i < d; i++) mean[i] += x[r * d + i] / (double)rows;
        double err = 0, tot = 0;
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < d; i++)
            {
                double e = x[r * d + i] - xhat[r * d + i], c = x[r * d + i] - mean[i];
                err += e * e; tot += c * c;
            }
        return tot > 0 ? 1 - err / tot : double.NaN;
    }
}
