namespace SaeGuard.Sae.Training;

/// <summary>
/// Where a training run's state lives and its steps run. One <see cref="Step"/> is the whole step:
/// encoder GEMM + bias, selection, sparse decode, residual sums, AuxK, sparse gradients, Adam with
/// the unit-norm decoder projection and the firing tracker. A device implementation keeps the
/// parameters, moments and batch on the device; only the step's sums come back, and the state on
/// <see cref="PullTracker"/> (metrics) and <see cref="PullState"/> (checkpoints, the final SAE).
/// </summary>
public interface ITrainingBackend : IDisposable
{
    /// <summary>The device, as recorded in metrics.jsonl and cfg.json ("cpu", "cuda:0 NAME", "ilgpu-cpu").</summary>
    string Device { get; }
    /// <summary>Host rows [batch, d] the caller fills before each <see cref="Step"/>.</summary>
    float[] Batch { get; }
    /// <summary>Takes the run's state (start or resume). The host objects stay the run's copy.</summary>
    void Push(SaeParams p, AdamOptimizer adam, FiringTracker tracker);
    /// <summary>One training step on the first <paramref name="rows"/> rows of <see cref="Batch"/>; returns its sums.</summary>
    StepStats Step(int rows, float lr, double sparsityCoef);
    /// <summary>Brings the firing state (tokens since firing, group firings, dead list) to the host tracker.</summary>
    void PullTracker();
    /// <summary>Brings parameters, moments and the tracker to the host objects given to <see cref="Push"/>.</summary>
    void PullState();
    /// <summary>Starts a new logging group (group firings to zero).</summary>
    void ResetGroup();
    /// <summary>Seconds per phase so far (at least "gemm").</summary>
    IReadOnlyDictionary<string, double> Timings { get; }
}
