using ILGPU;
using ILGPU.Runtime;
using SaeGuard.Common;
using SaeGuard.Sae.Architectures;
using Buf = ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense>;
using IBuf = ILGPU.Runtime.MemoryBuffer1D<int, ILGPU.Stride1D.Dense>;

namespace SaeGuard.Sae.Device;

/// <summary>
/// Encodes rows with a trained SAE on an ILGPU accelerator (CUDA, or the CPU accelerator in tests):
/// W_encᵀ, the encoder bias (the host's <c>b_enc − b_dec·W_enc</c>, bit for bit) and the threshold stay
/// on the device; per block of rows the activations go up, the encoder GEMM + bias
/// (<see cref="GemmKernel"/>) and the activation (<see cref="SelectKernels.TopKRows"/> for TopK, ties
/// to the lower index; <see cref="EncodeKernels.Threshold"/> for ReLU / JumpReLU) run there, and the
/// dense codes (and, when asked, the pre-activations) come back. Same codes as
/// <see cref="SaeModel.Encode(ReadOnlySpan{float}, int, Span{float})"/> up to the GEMM's summation order.
/// </summary>
public sealed class DeviceSaeEncoder : IDisposable
{
    readonly Context _context;
    readonly Accelerator _acc;
    readonly int _d, _m, _k, _blockRows;
    readonly bool _topK, _useTheta;
    readonly Buf _wEncT, _bias, _theta, _x, _pre, _codes, _val;
    readonly IBuf _idx, _count, _noMask;

    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _gemm;
    readonly Action<Index1D, ArrayView<float>, int, int, ArrayView<int>, int, ArrayView<int>, ArrayView<float>, ArrayView<int>> _topk;
    readonly Action<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int, ArrayView<float>> _scatter;
    readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>> _threshold;

    /// <summary>The device's name as recorded in outputs (e.g. "ilgpu-cpu", "cuda:0 NVIDIA H200").</summary>
    public string Device { get; }

    /// <param name="sae">The SAE whose encoder runs on the device (weights copied there once).</param>
    /// <param name="device">The opened device (<see cref="SaeDevice.Resolve"/>).</param>
    /// <param name="blockRows">Rows per device pass (buffers hold this many rows of x, pre and codes).</param>
    public DeviceSaeEncoder(SaeModel sae, SaeDevice device, int blockRows = 4096)
    {
        if (!device.IsIlgpu) throw new ArgumentException("DeviceSaeEncoder needs an ILGPU device (cuda or ilgpu-cpu).", nameof(device));
        var arch = sae.Arch;
        _topK = arch is TopKArchitecture;
        _useTheta = arch is JumpReluArchitecture;
        if (!_topK && !_useTheta && arch is not ReluArchitecture)
            throw new UserError($"--device {device.Name}: the '{arch.Name}' architecture has no device encoder; use --device cpu.");
        _d = sae.DIn; _m = sae.DSae; _k = _topK ? sae.Config.K : 1;
        _blockRows = Math.Max(1, blockRows);
        Device = device.Name;
        (_context, _acc) = device.Open();
        var a = _acc;
        Buf F(long n) => a.Allocate1D<float>(Math.Max(1, n));
        IBuf I(long n) => a.Allocate1D<int>(Math.Max(1, n));
        long rows = _blockRows;
        _wEncT = F((long)_m * _d); _bias = F(_m); _theta = F(_m);
        _x = F(rows * _d); _pre = F(rows * _m); _codes = F(rows * _m);
        _idx = I(rows * _k); _val = F(rows * _k); _count = I(rows); _noMask = I(1);
        _wEncT.CopyFromCPU(Transpose(sae.WEnc, _d, _m));
        _bias.CopyFromCPU(sae.EncoderBias());
        if (_useTheta) _theta.CopyFromCPU(sae.Threshold!); else _theta.MemSetToZero();
        _noMask.MemSetToZero();
        _gemm = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(GemmKernel.Run);
        _topk = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<int>, int, ArrayView<int>, ArrayView<float>, ArrayView<int>>(SelectKernels.TopKRows);
        _scatter = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int, ArrayView<float>>(EncodeKernels.ScatterTopK);
        _threshold = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>>(EncodeKernels.Threshold);
        a.Synchronize();
    }

    /// <summary>W_enc [d, m] → W_encᵀ [m, d] (latent-major, the GEMM kernel's B).</summary>
    static float[] Transpose(float[] w, int d, int m)
    {
        var t = new float[(long)m * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < m; j++) t[(long)j * d + i] = w[(long)i * m + j];
        return t;
    }

    /// <summary>
    /// Dense codes [rows, d_sae] of x [rows, d_in]; also the pre-activations when <paramref name="pre"/>
    /// is not empty (then it must hold rows·d_sae values).
    /// </summary>
    public void Encode(ReadOnlySpan<float> x, int rows, Span<float> codes, Span<float> pre = default)
    {
        if (x.Length < (long)rows * _d) throw new ArgumentException($"x holds {x.Length} values, expected {rows}×{_d}.");
        if (codes.Length < (long)rows * _m) throw new ArgumentException($"codes holds {codes.Length} values, expected {rows}×{_m}.");
        bool wantPre = !pre.IsEmpty;
        if (wantPre && pre.Length < (long)rows * _m) throw new ArgumentException($"pre holds {pre.Length} values, expected {rows}×{_m}.");
        for (int r0 = 0; r0 < rows; r0 += _blockRows)
        {
            int n = Math.Min(_blockRows, rows - r0);
            long nm = (long)n * _m;
            _x.View.BaseView.SubView(0, (long)n * _d).CopyFromCPU(x.Slice(r0 * _d, n * _d));
            _gemm(GemmKernel.Config(n, _m), _x.View, _wEncT.View, _bias.View, _pre.View, n, _d, _m);
            if (_topK)
            {
                _topk(n, _pre.View, _m, _k, _noMask.View, 0, _idx.View, _val.View, _count.View);
                _codes.View.BaseView.SubView(0, nm).MemSetToZero();
                _scatter(n * _k, _idx.View, _val.View, _count.View, _k, _m, _codes.View);
            }
            else _threshold((int)nm, _pre.View, _theta.View, _useTheta ? 1 : 0, _m, _codes.View);
            _acc.Synchronize();
            _codes.View.BaseView.SubView(0, nm).CopyToCPU(codes.Slice((int)((long)r0 * _m), (int)nm));
            if (wantPre) _pre.View.BaseView.SubView(0, nm).CopyToCPU(pre.Slice((int)((long)r0 * _m), (int)nm));
        }
    }

    public void Dispose()
    {
        foreach (var b in new MemoryBuffer[] { _wEncT, _bias, _theta, _x, _pre, _codes, _val, _idx, _count, _noMask }) b.Dispose();
        _acc.Dispose();
        _context.Dispose();
    }
}
