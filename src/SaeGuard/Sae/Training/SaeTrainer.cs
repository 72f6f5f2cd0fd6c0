using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Sae.Architectures;
using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Training;

/// <summary>What a training run produced.</summary>
public sealed record SaeTrainResult
{
    public required SaeModel Model { get; init; }
    /// <summary>The last metrics line: held-out rows when there are any, else the last training group.</summary>
    public required TrainMetrics Final { get; init; }
    public IReadOnlyList<TrainMetrics> History { get; init; } = Array.Empty<TrainMetrics>();
    /// <summary>Signs of a dense or degenerate SAE (also printed by the CLI on stderr).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
    /// <summary>False when the run stopped early (StopAfterTokens or cancellation) leaving a checkpoint.</summary>
    public bool Completed { get; init; }
    public long Steps { get; init; }
    public long TokensSeen { get; init; }
    public double Seconds { get; init; }
    /// <summary>Seconds spent in the encoder GEMM during this run.</summary>
    public double GemmSeconds { get; init; }
    /// <summary>Activation scale used in training (folded into the saved weights).</summary>
    public double Scale { get; init; }
    public string Backend { get; init; } = "";
    /// <summary>Where the steps ran (cpu, cuda:0 NAME, ilgpu-cpu).</summary>
    public string Device { get; init; } = "";
    /// <summary>Seconds per phase of the training steps (data, gemm, select, decode, …, adam).</summary>
    public IReadOnlyDictionary<string, double> PhaseSeconds { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// Trains TopK/AuxK, BatchTopK, JumpReLU and ReLU+L1 SAEs on CPU (see <see cref="SaeStep"/> for the
/// loss and <see cref="SaeTrainOptions"/> for the defaults). With an output folder it writes
/// metrics.jsonl as it goes, checkpoints/ when asked, and finally cfg.json +
/// sae_weights.safetensors (SAELens layout, normalisation folded into the weights).
/// </summary>
public static class SaeTrainer
{
    public static SaeModel Train(ActivationDump acts, SaeTrainOptions options, string? outDir = null, bool resume = false) =>
        Run(acts, options, outDir, resume).Model;

    /// <summary>Trains on an in-memory matrix [rows, d] (no documents, no special tokens).</summary>
    public static SaeModel Train(float[] data, int d, SaeTrainOptions options) =>
        Run(new MemoryTrainData(data, d), options).Model;

    public static SaeTrainResult Run(ActivationDump acts, SaeTrainOptions options, string? outDir = null, bool resume = false, CancellationToken cancel = default)
    {
        if (acts.Meta.Kind == "codes")
            throw new UserError($"'{acts.Dir}' is a codes dump (SAE outputs); train on the activations dump written by `extract`.");
        return Run(new DumpTrainData(acts), options, outDir, resume, cancel, MetadataOf(acts));
    }

    /// <summary>Where an SAE trained on <paramref name="acts"/> comes from (cfg.json metadata).</summary>
    internal static SaeMetadata MetadataOf(ActivationDump acts) => new()
    {
        ModelName = acts.Meta.Model, HookName = $"blocks.{acts.Meta.Layer}.hook_{acts.Meta.Hook}", Layer = acts.Meta.Layer,
        ModelSha256 = string.IsNullOrEmpty(acts.Meta.ModelSha256) ? null : acts.Meta.ModelSha256,
        Dataset = Path.GetFullPath(acts.Dir),
        ContextSize = acts.Meta.MaxLength > 0 ? acts.Meta.MaxLength : null,
        PrependBos = DumpContext.PrependsBos(acts),
    };

    public static SaeTrainResult Run(TrainData data, SaeTrainOptions options, string? outDir = null, bool resume = false,
        CancellationToken cancel = default, SaeMetadata? metadata = null)
    {
        using var run = new TrainRun(data, options, outDir, metadata ?? new SaeMetadata());
        return run.Execute(resume, cancel);
    }

    /// <summary>Checks options against the data's width; throws a <see cref="UserError"/> naming the problem.</summary>
    public static void Validate(SaeTrainOptions o, int d)
    {
        var arch = SaeArchitectures.Find(o.Arch) is { } a && a.Name == o.Arch ? a
            : throw new UserError($"Unknown SAE architecture '{o.Arch}': use one of {string.Join(", ", SaeTrainOptions.Architectures)}.");
        if (d <= 0) throw new UserError($"The activations have width d = {d}.");
        int m = o.LatentsFor(d);
        if (m <= 0) throw new UserError($"The SAE needs at least one latent (expansion {o.Expansion}, latents {o.Latents}).");
        if (arch.CheckTraining(o, m) is { } why) throw new UserError(why);
        if (o.BatchSize <= 0) throw new UserError($"Batch size must be positive, got {o.BatchSize}.");
        if (o.Tokens < 0) throw new UserError($"--tokens must be ≥ 0, got {o.Tokens}.");
        if (o.Lr is <= 0 || (o.Lr is double lr && !double.IsFinite(lr))) throw new UserError($"Learning rate must be positive, got {o.Lr}.");
        if (o.L1 is < 0 || (o.L1 is double l1 && !double.IsFinite(l1))) throw new UserError($"The sparsity coefficient must be ≥ 0, got {o.L1}.");
        if (o.JumpReluBandwidth <= 0) throw new UserError($"The JumpReLU bandwidth must be positive, got {o.JumpReluBandwidth}.");
        if ((long)m * d > int.MaxValue) throw new UserError($"An SAE of {m} latents × {d} is too large for this trainer.");
    }

    /// <summary>The inference-ready SAE from trained parameters: the training scale s is folded in
    /// (W_enc·s, W_dec/s, b_dec/s), so raw activations give the same codes and x̂/s.</summary>
    public static SaeModel Fold(SaeParams p, TrainingSae arch, double scale, SaeConfig config)
    {
        int d = p.D, m = p.M;
        float s = (float)scale, inv = (float)(1 / scale);
        var wEnc = new float[d * m];
        for (int j = 0; j < m; j++)
            for (int i = 0; i < d; i++) wEnc[i * m + j] = p.WEncT[j * d + i] * s;
        var wDec = p.WDec.Select(v => v * inv).ToArray();
        var bDec = p.BDec.Select(v => v * inv).ToArray();
        var (archName, k, threshold) = arch.InferenceForm(p);
        return new SaeModel(config with { DIn = d, DSae = m, Architecture = archName, K = k, NormalizeActivations = "none" },
            wEnc, (float[])p.BEnc.Clone(), wDec, bDec, threshold);
    }
}
