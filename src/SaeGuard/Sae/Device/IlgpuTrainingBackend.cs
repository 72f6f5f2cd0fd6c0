using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using SaeGuard.Common;
using SaeGuard.Sae.Architectures;
using SaeGuard.Sae.Training;
using SaeGuard.Sae.Training.Architectures;
using Buf = ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense>;
using IBuf = ILGPU.Runtime.MemoryBuffer1D<int, ILGPU.Stride1D.Dense>;

namespace SaeGuard.Sae.Device;

/// <summary>Which SGEMM the device step uses for the encoder product.</summary>
public enum DeviceGemm { Tiled, CuBlas }

/// <summary>
/// A TopK or ReLU + L1 training step resident on an ILGPU accelerator (CUDA, or the CPU accelerator in tests):
/// parameters, Adam moments, the batch and every intermediate stay on the device. Per step only the
/// per-row sums ([rows, 5]), the column sums of x ([d]) and the dead count come back.
/// The same operations and float formulas as <see cref="SaeStep"/> + <see cref="SaeGuard.Sae.Training.CpuTrainingBackend"/>;
/// sums run in another order and the gradient scatter uses atomics, so weights agree to rounding,
/// not bit for bit.
/// </summary>
public sealed class IlgpuTrainingBackend : ITrainingBackend
{
    readonly Context _context;
    readonly Accelerator _acc;
    readonly SaeDevice _device;
    readonly SaeTrainOptions _o;
    readonly int _d, _m, _k, _kAuxMax, _batch;
    long _deadAfter;
    readonly float[] _host;
    readonly Dictionary<string, double> _timings = new();
    readonly CuBlas? _blas;
    SaeParams? _p;
    AdamOptimizer? _adam;
    FiringTracker? _tracker;

    // parameters, gradients and moments, in SaeParams order: W_enc_t, b_enc, W_dec, b_dec
    readonly Buf[] _param, _grad, _m1, _m2;
    readonly Buf _x, _pre, _encBias, _xhat, _g, _auxHat, _val, _dz, _delta, _auxVal, _auxDz, _stats, _sumX, _zeros;
    readonly IBuf _idx, _count, _auxIdx, _auxCount, _fired, _groupFires, _since, _dead, _nDead;
    readonly float[] _statsHost, _sumXHost;
    // ReLU + L1: every positive entry (k = m), decoder norms, per-row penalty, Σ_t z per latent
    readonly bool _relu;
    readonly Buf _norms, _penalty, _sumZ;
    readonly float[] _penaltyHost;
    readonly Action<Index1D, ArrayView<float>, int, ArrayView<int>, ArrayView<float>, ArrayView<int>> _positive;
    readonly Action<Index1D, ArrayView<float>, int, ArrayView<float>> _rowNorms;
    readonly Action<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, ArrayView<float>, float, ArrayView<float>, ArrayView<float>> _reluDeltas;
    readonly Action<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, ArrayView<float>> _sumZK;
    readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, ArrayView<float>> _penaltyGrad;

    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _gemm;
    readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> _addBias;
    readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>> _encBiasK;
    readonly Action<Index1D, ArrayView<float>, int, int, ArrayView<int>, int, ArrayView<int>, ArrayView<float>, ArrayView<int>> _topk;
    readonly Action<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, ArrayView<float>, int, ArrayView<float>, int, ArrayView<float>> _decode;
    readonly Action<Index1D, ArrayView<int>, ArrayView<int>, int, ArrayView<float>, int, ArrayView<float>, int, ArrayView<float>> _dots;
    readonly Action<Index2D, int, int, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _scatter;
    readonly Action<Index1D, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>> _bdecGrad;
    readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, ArrayView<float>, ArrayView<int>, int, ArrayView<float>> _residual;
    readonly Action<Index1D, ArrayView<float>, int, int, ArrayView<float>> _colSums;
    readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, ArrayView<float>> _auxResidual;
    readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> _deltaK;
    readonly Action<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, ArrayView<int>, ArrayView<int>> _markFired;
    readonly Action<Index1D, ArrayView<int>, ArrayView<int>, int, long, ArrayView<int>, ArrayView<int>> _updateTracker;
    readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, float> _adamK;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float, float, float> _adamRows;

    public IlgpuTrainingBackend(SaeDevice device, TrainingSae arch, SaeTrainOptions o, int d, int m, int batch, DeviceGemm gemm = DeviceGemm.Tiled)
    {
        _relu = arch is ReluTrainingSae;
        if (arch is not TopKTrainingSae && !_relu)
            throw new UserError($"--device {device.Name}: only --arch {SaeArchitectures.TopK.Name} and {SaeArchitectures.Relu.Name} train on a device so far (got {arch.Name}); use --device cpu.");
        _device = device; _o = o; _d = d; _m = m; _k = _relu ? m : o.K; _batch = batch;
        _kAuxMax = o.AuxK > 0 ? o.AuxK : Math.Max(1, d / 2);
        (_context, _acc) = device.Open();
        var a = _acc;
        Buf F(long n) => a.Allocate1D<float>(Math.Max(1, n));
        IBuf I(long n) => a.Allocate1D<int>(Math.Max(1, n));
        long md = (long)m * d;
        _param = new[] { F(md), F(m), F(md), F(d) };
        _grad = new[] { F(md), F(m), F(md), F(d) };
        _m1 = new[] { F(md), F(m), F(md), F(d) };
        _m2 = new[] { F(md), F(m), F(md), F(d) };
        _x = F((long)batch * d); _pre = F((long)batch * m); _encBias = F(m); _xhat = F((long)batch * d); _g = F(2L * batch * d);
        _auxHat = F((long)batch * d); _zeros = F(d);
        _idx = I((long)batch * _k); _val = F((long)batch * _k); _count = I(batch); _dz = F((long)batch * _k); _delta = F((long)batch * _k);
        int kAuxCap = _relu ? 1 : Math.Min(_kAuxMax, m);
        _auxIdx = I((long)batch * kAuxCap); _auxVal = F((long)batch * kAuxCap); _auxCount = I(batch); _auxDz = F((long)batch * kAuxCap);
        _stats = F((long)batch * StepKernels.RowStats); _sumX = F(d);
        _fired = I(m); _groupFires = I(m); _since = I(m); _dead = I(m); _nDead = I(1);
        _zeros.MemSetToZero(); _fired.MemSetToZero(); _groupFires.MemSetToZero();
        _statsHost = new float[batch * StepKernels.RowStats]; _sumXHost = new float[d];
        _host = new float[batch * d];
        _norms = F(m); _penalty = F(batch); _sumZ = F(m); _penaltyHost = new float[batch];

        _gemm = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(GemmKernel.Run);
        _addBias = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(GemmKernel.AddBias);
        _encBiasK = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(SparseKernels.EncoderBias);
        _topk = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<int>, int, ArrayView<int>, ArrayView<float>, ArrayView<int>>(SelectKernels.TopKRows);
        _decode = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, ArrayView<float>, int, ArrayView<float>, int, ArrayView<float>>(SparseKernels.Decode);
        _dots = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, int, ArrayView<float>, int, ArrayView<float>, int, ArrayView<float>>(SparseKernels.Dots);
        _scatter = a.LoadAutoGroupedStreamKernel<Index2D, int, int, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(SparseKernels.Scatter);
        _bdecGrad = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>>(SparseKernels.BDecGrad);
        _residual = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, ArrayView<float>, ArrayView<int>, int, ArrayView<float>>(StepKernels.Residual);
        _colSums = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<float>>(StepKernels.ColumnSums);
        _auxResidual = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, ArrayView<float>>(StepKernels.AuxResidual);
        _deltaK = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(StepKernels.Delta);
        _markFired = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, ArrayView<int>, ArrayView<int>>(StepKernels.MarkFired);
        _updateTracker = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, int, long, ArrayView<int>, ArrayView<int>>(StepKernels.UpdateTracker);
        _adamK = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, float>(AdamKernels.Adam);
        _adamRows = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float, float, float>(AdamKernels.AdamUnitRows);
        _positive = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, ArrayView<int>, ArrayView<float>, ArrayView<int>>(ReluKernels.PositiveRows);
        _rowNorms = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, ArrayView<float>>(ReluKernels.RowNorms);
        _reluDeltas = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, ArrayView<float>, float, ArrayView<float>, ArrayView<float>>(ReluKernels.Deltas);
        _sumZK = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, ArrayView<float>>(ReluKernels.SumZ);
        _penaltyGrad = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, ArrayView<float>>(ReluKernels.PenaltyGradient);
        if (gemm == DeviceGemm.CuBlas)
        {
            if (a is not CudaAccelerator cuda) throw new UserError($"cuBLAS needs a CUDA device, this is {device.Name}.");
            _blas = new CuBlas(cuda);
        }
        GemmName = gemm == DeviceGemm.CuBlas ? "cublas" : "tiled";
    }

    public string Device => _device.Name;
    /// <summary>"tiled" (the shared-memory kernel) or "cublas".</summary>
    public string GemmName { get; }
    public float[] Batch => _host;
    public IReadOnlyDictionary<string, double> Timings => _timings;

    public void Push(SaeParams p, AdamOptimizer adam, FiringTracker tracker)
    {
        _p = p; _adam = adam; _tracker = tracker; _deadAfter = tracker.DeadAfter;
        var host = HostTensors(p);
        var h1 = HostTensors(adam.M1);
        var h2 = HostTensors(adam.M2);
        for (int i = 0; i < _param.Length; i++)
        {
            _param[i].CopyFromCPU(host[i]); _m1[i].CopyFromCPU(h1[i]); _m2[i].CopyFromCPU(h2[i]);
        }
        _since.CopyFromCPU(tracker.TokensSince);
        var dead = new int[_m];
        for (int j = 0; j < _m; j++) dead[j] = tracker.TokensSince[j] >= tracker.DeadAfter ? 1 : 0;
        _dead.CopyFromCPU(dead);
        _groupFires.CopyFromCPU(tracker.GroupFires.Select(v => (int)Math.Min(int.MaxValue, v)).ToArray());
        _acc.Synchronize();
    }

    static float[][] HostTensors(SaeParams p) => new[] { p.WEncT, p.BEnc, p.WDec, p.BDec };

    public StepStats Step(int rows, float lr, double sparsityCoef)
    {
        if (_p == null) throw new InvalidOperationException("Push the state before stepping.");
        int d = _d, m = _m, k = _k;
        var s = _acc.DefaultStream;
        _x.View.BaseView.SubView(0, (long)rows * d).CopyFromCPU(_host.AsSpan(0, rows * d));
        Buf wEncT = _param[0], bEnc = _param[1], wDec = _param[2], bDec = _param[3];
        _encBiasK(m, bEnc.View, wEncT.View, bDec.View, d, _encBias.View);
        long t0 = Stopwatch.GetTimestamp();
        Encode(rows);
        _acc.Synchronize();
        Add("gemm", t0);
        long t1 = Stopwatch.GetTimestamp();
        if (_relu)
        {
            _rowNorms(m, wDec.View, d, _norms.View);
            _positive(rows, _pre.View, m, _idx.View, _val.View, _count.View);
        }
        else _topk(rows, _pre.View, m, k, _dead.View, 0, _idx.View, _val.View, _count.View);
        _markFired(rows * k, _idx.View, _val.View, _count.View, k, _fired.View, _groupFires.View);
        _nDead.MemSetToZero();
        _updateTracker(m, _fired.View, _since.View, rows, _deadAfter, _dead.View, _nDead.View);
        _decode(rows * d, _idx.View, _val.View, _count.View, k, wDec.View, d, bDec.View, 1, _xhat.View);
        float twoOverB = 2f / rows;
        _residual(rows, _x.View, _xhat.View, _g.View, d, twoOverB, _val.View, _count.View, k, _stats.View);
        _colSums(d, _x.View, rows, d, _sumX.View);
        _dots(rows * k, _idx.View, _count.View, k, _g.View, 0, wDec.View, d, _dz.View);
        var nDeadHost = new int[1];
        _nDead.CopyToCPU(nDeadHost);
        int nDead = nDeadHost[0];

        // AuxK over the dead latents
        bool aux = !_relu && nDead > 0 && _o.AuxCoefficient > 0;
        int kAux = Math.Min(_kAuxMax, nDead);
        double auxScale = 0;
        if (aux)
        {
            float c = (float)(_o.AuxCoefficient * Math.Min((double)nDead / _kAuxMax, 1.0));
            auxScale = c;
            _topk(rows, _pre.View, m, kAux, _dead.View, 1, _auxIdx.View, _auxVal.View, _auxCount.View);
            _decode(rows * d, _auxIdx.View, _auxVal.View, _auxCount.View, kAux, wDec.View, d, _zeros.View, 0, _auxHat.View);
            _auxResidual(rows, _x.View, _xhat.View, _auxHat.View, _g.View, rows, d, c * twoOverB, _stats.View);
            _dots(rows * kAux, _auxIdx.View, _auxCount.View, kAux, _g.View, rows, wDec.View, d, _auxDz.View);
        }
        if (_relu) _reluDeltas(rows, _idx.View, _val.View, _dz.View, _count.View, k, _norms.View, (float)(sparsityCoef / rows), _delta.View, _penalty.View);
        else _deltaK(rows * k, _val.View, _dz.View, _delta.View);

        // gradients
        foreach (var g in _grad) g.MemSetToZero();
        Scatter(rows, k, _idx, _val, _delta, _count, 0);
        if (aux) Scatter(rows, kAux, _auxIdx, _auxVal, _auxDz, _auxCount, rows);
        _bdecGrad(d, _g.View, rows, _grad[1].View, wEncT.View, m, d, _grad[3].View);
        if (_relu)
        {
            _sumZ.MemSetToZero();
            _sumZK(rows * k, _idx.View, _val.View, _count.View, k, _sumZ.View);
            _penaltyGrad(m * d, _sumZ.View, _norms.View, wDec.View, d, (float)(sparsityCoef / rows), _grad[2].View);
        }

        // Adam (the decoder with its unit-norm projection)
        _adam!.Step++;
        var hp = new Backend.AdamStep(lr, (float)_o.Beta1, (float)_o.Beta2, 1e-8f, _adam.Step);
        float b1 = hp.Beta1, b2 = hp.Beta2, stepSize = hp.Lr / (1 - MathF.Pow(hp.Beta1, hp.Step)), inv = 1 / MathF.Sqrt(1 - MathF.Pow(hp.Beta2, hp.Step));
        for (int i = 0; i < _param.Length; i++)
        {
            if (i == 2)
                _adamRows(new KernelConfig(new Index1D(m), new Index1D(AdamKernels.RowThreads)), wDec.View, _grad[2].View, _m1[2].View, _m2[2].View, d, b1, b2, stepSize, inv, hp.Eps);
            else
                _adamK((int)_param[i].Length, _param[i].View, _grad[i].View, _m1[i].View, _m2[i].View, b1, b2, stepSize, inv, hp.Eps);
        }

        // the step's sums
        _stats.View.BaseView.SubView(0, (long)rows * StepKernels.RowStats).CopyToCPU(_statsHost.AsSpan(0, rows * StepKernels.RowStats));
        _sumX.CopyToCPU(_sumXHost);
        Add("step", t1);
        var st = new StepStats(d) { Tokens = rows };
        double auxSum = 0;
        for (int t = 0; t < rows; t++)
        {
            int b = t * StepKernels.RowStats;
            st.Sse += _statsHost[b]; st.SumSq += _statsHost[b + 1]; st.L2Ratio += _statsHost[b + 2]; st.Active += _statsHost[b + 3];
            auxSum += _statsHost[b + 4];
        }
        for (int i = 0; i < d; i++) st.SumX[i] = _sumXHost[i];
        st.AuxLoss = aux ? auxScale * auxSum / rows : 0;
        if (_relu)
        {
            _penalty.View.BaseView.SubView(0, rows).CopyToCPU(_penaltyHost.AsSpan(0, rows));
            double pen = 0;
            for (int t = 0; t < rows; t++) pen += _penaltyHost[t];
            st.SparsityLoss = sparsityCoef * pen / rows;
        }
        st.Loss = st.Sse / rows + st.AuxLoss + st.SparsityLoss;
        return st;
    }

    /// <summary>pre = x·W_encᵀ + encBias for the first rows of the batch.</summary>
    void Encode(int rows)
    {
        if (_blas != null)
        {
            // column-major: pre'[m, rows] = (W_encᵀ as [d, m])ᵀ · (x as [d, rows])
            _blas.Gemm(CuBlasOperation.Transpose, CuBlasOperation.NonTranspose, _m, rows, _d, 1f,
                _param[0].View, _d, _x.View, _d, 0f, _pre.View, _m);
            _addBias(rows * _m, _pre.View, _encBias.View, _m);
        }
        else _gemm(GemmKernel.Config(rows, _m), _x.View, _param[0].View, _encBias.View, _pre.View, rows, _d, _m);
    }

    void Scatter(int rows, int k, IBuf idx, Buf val, Buf delta, IBuf count, int gRow0)
    {
        // launches of at most 65,535 entries (the grid's Y limit; batch 4096 × k 32 is twice that) and 2³⁰ threads
        int total = rows * k;
        int chunk = (int)Math.Max(1, Math.Min(SparseKernels.MaxEntriesPerLaunch, (1L << 30) / Math.Max(1, _d)));
        for (int p0 = 0; p0 < total; p0 += chunk)
        {
            int n = Math.Min(chunk, total - p0);
            _scatter(new Index2D(_d, n), p0, k, idx.View, val.View, delta.View, count.View, _g.View, gRow0, _x.View, _param[3].View,
                _grad[2].View, _grad[0].View, _grad[1].View, _d);
        }
    }

    void Add(string phase, long t0) => _timings[phase] = _timings.GetValueOrDefault(phase) + Stopwatch.GetElapsedTime(t0).TotalSeconds;

    public void PullTracker()
    {
        var t = _tracker!;
        var since = new int[_m];
        _since.CopyToCPU(since);
        t.Load(since);
        var fires = new int[_m];
        _groupFires.CopyToCPU(fires);
        for (int j = 0; j < _m; j++) t.GroupFires[j] = fires[j];
    }

    public void PullState()
    {
        _acc.Synchronize();
        var host = HostTensors(_p!);
        var h1 = HostTensors(_adam!.M1);
        var h2 = HostTensors(_adam.M2);
        for (int i = 0; i < _param.Length; i++)
        {
            _param[i].CopyToCPU(host[i]); _m1[i].CopyToCPU(h1[i]); _m2[i].CopyToCPU(h2[i]);
        }
        PullTracker();
    }

    public void ResetGroup()
    {
        _groupFires.MemSetToZero();
        _tracker?.ResetGroup();
    }

    public void Dispose()
    {
        _blas?.Dispose();
        foreach (var b in _param.Concat(_grad).Concat(_m1).Concat(_m2)) b.Dispose();
        foreach (var b in new[] { _x, _pre, _encBias, _xhat, _g, _auxHat, _val, _dz, _delta, _auxVal, _auxDz, _stats, _sumX, _zeros, _norms, _penalty, _sumZ }) b.Dispose();
        foreach (var b in new[] { _idx, _count, _auxIdx, _auxCount, _fired, _groupFires, _since, _dead, _nDead }) b.Dispose();
        _acc.Dispose();
        _context.Dispose();
    }
}
