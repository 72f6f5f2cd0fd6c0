using SaeGuard.Sae.Training;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Architectures;

/// <summary>
/// One SAE architecture: its names (SaeGuard's, SAELens', aliases), how a trained SAE encodes
/// (the activation applied to pre-activations), what a model and a training run of it must
/// satisfy, its defaults, and its training strategy. Found by name through
/// <see cref="SaeArchitectures"/>; one file per architecture in this folder.
/// </summary>
public abstract class SaeArchitecture
{
    /// <summary>SaeGuard's name (cfg.json's architecture after mapping, <c>--arch</c>).</summary>
    public abstract string Name { get; }
    /// <summary>Other names accepted on input.</summary>
    public virtual IReadOnlyList<string> Aliases => Array.Empty<string>();
    /// <summary>cfg.json "architecture" as SAELens writes it.</summary>
    public virtual string SaeLensName => Name;
    /// <summary>cfg.json "activation_fn_str" (SAELens v5).</summary>
    public virtual string SaeLensActivationFn => "relu";
    /// <summary>A one-line description for help texts.</summary>
    public abstract string Description { get; }

    /// <summary>The architecture a trained SAE of this kind is saved and encoded as (BatchTopK → JumpReLU).</summary>
    public virtual SaeArchitecture SavedAs => this;
    /// <summary>Whether an <see cref="SaeModel"/> can encode with it (else it exists only in training).</summary>
    public bool IsInference => ReferenceEquals(SavedAs, this);
    /// <summary>Whether inference keeps a fixed k latents per token (<see cref="SaeConfig.K"/>).</summary>
    public virtual bool FixedKPerToken => false;
    /// <summary>Whether training takes k (per token or on average).</summary>
    public virtual bool TrainsWithK => FixedKPerToken;
    /// <summary>Whether a model needs a per-latent threshold tensor.</summary>
    public virtual bool NeedsThreshold => false;
    /// <summary>Whether training learns a per-latent threshold θ (a checkpoint holds it).</summary>
    public virtual bool TrainsTheta => false;
    /// <summary>The sparsity coefficient (L1 or L0) when none is given.</summary>
    public virtual double DefaultSparsityCoefficient => 0;

    /// <summary>Applies the activation to one row of pre-activations of <paramref name="sae"/>, in place.</summary>
    public virtual void Activate(Span<float> pre, SaeModel sae) =>
        throw new Common.UserError($"An SAE cannot encode as '{Name}'; it is saved as '{SavedAs.Name}'.");

    /// <summary>Why a model of this architecture is invalid, or null.</summary>
    public virtual string? CheckModel(SaeConfig config, float[]? threshold) => null;

    /// <summary>Why training options are invalid for <paramref name="latents"/> latents, or null.</summary>
    public virtual string? CheckTraining(SaeTrainOptions o, int latents) => null;

    /// <summary>What to try when training left the codes dense (appended to the warning), or "".</summary>
    public virtual string DenseHint(SaeTrainOptions o) => "";

    /// <summary>The training strategy (selection, penalty, extra gradients, inference form).</summary>
    public abstract TrainingSae CreateTraining(SaeTrainOptions o, int d, int m);

    public override string ToString() => Name;
}
