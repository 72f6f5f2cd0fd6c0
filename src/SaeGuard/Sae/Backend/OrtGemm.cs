using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SaeGuard.Sae.Backend;

/// <summary>
/// Dense C[n,m] = A[n,k]·B + bias through ONNX Runtime's Gemm (MLAS), zero-copy: the caller's
/// memory is wrapped as OrtValues for the duration of the call. B is [m,k] (transposed, latent-major)
/// or [k,m]. Run is thread-safe.
/// </summary>
sealed class OrtGemm : IDisposable
{
    readonly InferenceSession _transB, _plainB;
    readonly RunOptions _run = new();
    static readonly string[] InputNames = { "A", "B", "C" };
    static readonly string[] OutputNames = { "Y" };

    public int Threads { get; }

    public OrtGemm(int threads)
    {
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        _transB = Create(true);
        _plainB = Create(false);
    }

    InferenceSession Create(bool transB)
    {
        using var opts = new SessionOptions
        {
            IntraOpNumThreads = Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // Managed kernels run right after each GEMM on the same cores: idle ORT threads must not spin.
        opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return new InferenceSession(GemmModel.Build(transB), opts);
    }

    public unsafe void Run(ReadOnlySpan<float> a, int n, int k, ReadOnlySpan<float> b, int m, bool bTransposed,
        ReadOnlySpan<float> bias, Span<float> c)
    {
        if (n == 0) return;
        if (a.Length < (long)n * k || b.Length < (long)m * k || bias.Length < m || c.Length < (long)n * m)
            throw new ArgumentException($"Gemm buffers too small for n={n}, k={k}, m={m}.");
        var mem = OrtMemoryInfo.DefaultInstance;
        fixed (float* pa = a, pb = b, pc = bias, py = c)
        {
            using var va = OrtValue.CreateTensorValueWithData(mem, TensorElementType.Float, new long[] { n, k }, (IntPtr)pa, (long)n * k * 4);
            using var vb = OrtValue.CreateTensorValueWithData(mem, TensorElementType.Float,
                bTransposed ? new long[] { m, k } : new long[] { k, m }, (IntPtr)pb, (long)m * k * 4);
            using var vc = OrtValue.CreateTensorValueWithData(mem, TensorElementType.Float, new long[] { m }, (IntPtr)pc, (long)m * 4);
            using var vy = OrtValue.CreateTensorValueWithData(mem, TensorElementType.Float, new long[] { n, m }, (IntPtr)py, (long)n * m * 4);
            (bTransposed ? _transB : _plainB).Run(_run, InputNames, new[] { va, vb, vc }, OutputNames, new[] { vy });
        }
    }

    public void Dispose()
    {
        _transB.Dispose();
        _plainB.Dispose();
        _run.Dispose();
    }
}
