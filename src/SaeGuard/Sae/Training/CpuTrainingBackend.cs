using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Training;

/// <summary>The host implementation of a training step: <see cref="SaeStep"/> then <see cref="AdamOptimizer"/>, in place on the host objects.</summary>
public sealed class CpuTrainingBackend : ITrainingBackend
{
    readonly ISaeBackend _be;
    readonly TrainingSae _arch;
    readonly SaeStep _stepper;
    readonly StepContext _ctx;
    readonly SaeParams _grads;
    readonly Dictionary<string, double> _timings = new();
    SaeParams? _p;
    AdamOptimizer? _adam;
    FiringTracker? _tracker;

    public CpuTrainingBackend(ISaeBackend backend, TrainingSae arch, SaeTrainOptions o, int d, int m, int batch)
    {
        _be = backend; _arch = arch;
        _stepper = new SaeStep(arch, o, d, m);
        _ctx = new StepContext(backend, d, m);
        _ctx.Prepare(batch);
        _grads = new SaeParams(d, m, arch.HasTheta);
    }

    public string Device => Sae.Device.SaeDevice.CpuName;
    public float[] Batch => _ctx.X;
    public SaeStep Stepper => _stepper;

    public void Push(SaeParams p, AdamOptimizer adam, FiringTracker tracker) { _p = p; _adam = adam; _tracker = tracker; }

    public StepStats Step(int rows, float lr, double sparsityCoef)
    {
        var p = _p ?? throw new InvalidOperationException("Push the state before stepping.");
        if (rows != _ctx.Rows) _ctx.Prepare(rows);
        var stats = _stepper.Compute(_ctx, p, _grads, _tracker!, sparsityCoef);
        if (!double.IsFinite(stats.Loss)) return stats;
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        _adam!.Update(_be, p, _grads, lr, _arch);
        _arch.AfterStep(_ctx);
        _timings["adam"] = _timings.GetValueOrDefault("adam") + System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return stats;
    }

    public void PullTracker() { }
    public void PullState() { }
    public void ResetGroup() => _tracker?.ResetGroup();

    public IReadOnlyDictionary<string, double> Timings => _stepper.Timings.Concat(_timings).ToDictionary(kv => kv.Key, kv => kv.Value);

    public void Dispose() { }
}
