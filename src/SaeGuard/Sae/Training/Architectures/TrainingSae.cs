using System.Globalization;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Sae.Training.Architectures;

/// <summary>
/// What differs between SAE architectures during training: which latents are active for each token
/// (and with what value), how ∂L/∂z reaches the pre-activations, any extra parameter gradients and
/// penalties, and how the trained SAE is encoded at inference. Everything else (encoder GEMM,
/// sparse decode, gradients, AuxK, Adam, decoder-norm constraint) is shared in <see cref="SaeStep"/>.
/// </summary>
public abstract class TrainingSae
{
    protected SaeTrainOptions Options { get; }
    protected int D { get; }
    protected int M { get; }

    protected TrainingSae(SaeTrainOptions options, int d, int m)
    {
        Options = options; D = d; M = m;
    }

    public abstract string Name { get; }
    /// <summary>Whether dead latents get the AuxK loss.</summary>
    public virtual bool UsesAuxK => false;
    /// <summary>Whether the trainable parameters include a per-latent threshold θ.</summary>
    public virtual bool HasTheta => false;

    /// <summary>θ's learning rate relative to the other tensors'.</summary>
    public virtual double ThetaLrScale => 1.0;

    /// <summary>Initial values of architecture-specific parameters (θ).</summary>
    public virtual void Initialize(SaeParams p) { }

    /// <summary>Fills ctx.Codes from ctx.Pre. Entries with value 0 may be kept (JumpReLU's near-threshold ones).</summary>
    public abstract void Select(StepContext ctx, SaeParams p);

    /// <summary>
    /// ctx.Delta[p] = ∂L/∂pre for each entry from ctx.Dz = ∂L/∂z plus the sparsity penalty with
    /// coefficient <paramref name="coef"/> (already warmed up); returns the penalty's loss value.
    /// </summary>
    public virtual double EntryDeltas(StepContext ctx, SaeParams p, double coef)
    {
        int n = ctx.Codes.Nnz;
        var val = ctx.Codes.Val;
        for (int e = 0; e < n; e++) ctx.Delta[e] = val[e] > 0 ? ctx.Dz[e] : 0f;
        return 0;
    }

    /// <summary>Adds gradients the shared path does not produce (θ, penalty terms on W_dec).</summary>
    public virtual void ExtraGradients(StepContext ctx, SaeParams p, SaeParams grads, double coef) { }

    /// <summary>Keeps parameters valid after an optimizer step (θ ≥ 0).</summary>
    public virtual void AfterUpdate(SaeParams p) { }

    /// <summary>Running state updated once per training step (BatchTopK's threshold).</summary>
    public virtual void AfterStep(StepContext ctx) { }

    /// <summary>State to checkpoint besides the parameters.</summary>
    public virtual Dictionary<string, double> SaveState() => new();
    public virtual void LoadState(IReadOnlyDictionary<string, double> state) { }

    /// <summary>Architecture-specific entries of cfg.json's saeguard_training (k, coefficients, learned state).</summary>
    public virtual void AddTrainingInfo(Dictionary<string, string> info) { }

    protected static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
    protected static string Inv(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The inference architecture and threshold of the trained SAE (in the scaled space, which folding preserves).</summary>
    public abstract (string Architecture, int K, float[]? Threshold) InferenceForm(SaeParams p);

    public static TrainingSae Create(SaeTrainOptions o, int d, int m) => SaeArchitectures.Get(o.Arch).CreateTraining(o, d, m);
}
