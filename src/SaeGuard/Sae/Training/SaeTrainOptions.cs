using SaeGuard.Sae.Architectures;

namespace SaeGuard.Sae.Training;

/// <summary>
/// How an SAE is trained. Defaults follow the issue/SAELens conventions: TopK k=32, expansion 8,
/// batch 4096 tokens, Adam with lr = 2e-4 / sqrt(latents / 2^14), linear warm-up and a linear
/// decay over the last 20% of steps, activations scaled to mean ‖x‖² = d_in.
/// </summary>
public sealed record SaeTrainOptions
{
    /// <summary>topk (default), batchtopk, jumprelu or relu.</summary>
    public string Arch { get; init; } = SaeArchitectures.Default.Name;
    /// <summary>Active latents per token (topk) or on average per token (batchtopk).</summary>
    public int K { get; init; } = 32;
    /// <summary>Latents = Expansion × d_in unless <see cref="Latents"/> is set.</summary>
    public int Expansion { get; init; } = 8;
    public int Latents { get; init; }
    /// <summary>
    /// Sparsity coefficient: L1 (relu) or L0 (jumprelu); null = the architecture's default (relu 2,
    /// jumprelu 1: on MiniLM layer 4 with expansion 8 and 800k tokens, L1 = 1 left the codes dense
    /// (L0 272), L1 = 5 shrank them to EV 0.09; L0 coefficient 0.3 / 1 / 3 gave L0 101 / 61 / 46).
    /// </summary>
    public double? L1 { get; init; }
    /// <summary>Training tokens; 0 = one pass over the training rows (more than the data = several epochs).</summary>
    public long Tokens { get; init; }
    public int BatchSize { get; init; } = 4096;
    /// <summary>null = 2e-4 / sqrt(latents / 2^14).</summary>
    public double? Lr { get; init; }
    public int Seed { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Linear lr warm-up; capped at a tenth of the run for short runs.</summary>
    public int WarmupSteps { get; init; } = 1000;
    /// <summary>Fraction of the run at the end over which lr decays linearly to 0.</summary>
    public double DecayFraction { get; init; } = 0.2;
    /// <summary>Fraction of the run over which the L1/L0 coefficient ramps up from 0 (relu, jumprelu).</summary>
    public double SparsityWarmupFraction { get; init; } = 0.05;
    /// <summary>A latent is dead after this many tokens without firing; 0 = min(10M, a quarter of the run).</summary>
    public long DeadAfterTokens { get; init; }
    /// <summary>AuxK latents per token; 0 = d_in / 2.</summary>
    public int AuxK { get; init; }
    /// <summary>AuxK loss coefficient (scaled by min(n_dead / k_aux, 1)); 0 disables AuxK.</summary>
    public double AuxCoefficient { get; init; } = 1.0 / 32;
    public double JumpReluBandwidth { get; init; } = 1e-3;
    public double JumpReluInitThreshold { get; init; } = 1e-3;
    /// <summary>EMA rate of BatchTopK's inference threshold (min selected activation per batch).</summary>
    public double BatchTopKThresholdLr { get; init; } = 0.01;
    /// <summary>Scale activations to mean ‖x‖² = d_in during training (folded into the saved weights).</summary>
    public bool NormalizeActivations { get; init; } = true;
    /// <summary>Batches read to estimate the normalisation scale.</summary>
    public int ScaleEstimateBatches { get; init; } = 10;
    /// <summary>Train on [CLS]/[SEP]/BOS/pad rows too (excluded by default).</summary>
    public bool IncludeSpecialTokens { get; init; }
    /// <summary>Share of documents (of rows when the data has under 20 documents) held out for the final metrics.</summary>
    public double HeldOutFraction { get; init; } = 0.05;
    /// <summary>Held-out rows used at most.</summary>
    public int MaxHeldOutRows { get; init; } = 65_536;
    /// <summary>Steps per metrics line; 0 = about 50 lines per run.</summary>
    public int LogEvery { get; init; }
    /// <summary>Write a checkpoint every this many tokens (0 = only when stopping early).</summary>
    public long CheckpointEvery { get; init; }
    /// <summary>Checkpoints kept (older ones are deleted).</summary>
    public int KeepCheckpoints { get; init; } = 2;
    /// <summary>Stop after this many tokens leaving a checkpoint (0 = run to the end); resume later.</summary>
    public long StopAfterTokens { get; init; }
    /// <summary>Threads for the kernels; 0 = all cores.</summary>
    public int Threads { get; init; }
    /// <summary>Where the steps run: cpu, cuda, ilgpu-cpu or auto (see <see cref="Device.SaeDevice.Resolve"/>); not part of a run's identity, so a checkpoint resumes on another device.</summary>
    public string Device { get; init; } = Sae.Device.SaeDevice.CpuName;

    public int LatentsFor(int dIn) => Latents > 0 ? Latents : Expansion * dIn;

    public double SparsityCoefficient => L1 ?? SaeArchitectures.Find(Arch)?.DefaultSparsityCoefficient ?? 0.0;

    public double LrFor(int latents) => Lr ?? 2e-4 / Math.Sqrt(latents / 16384.0);

    public static readonly string[] Architectures = SaeArchitectures.TrainableNames.ToArray();
}
