using SaeGuard.Sae.Training;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Architectures;

/// <summary>TopK (Gao et al. 2024): z = TopK_k(ReLU(pre)) per token; dead latents trained by AuxK.</summary>
public sealed class TopKArchitecture : SaeArchitecture
{
    public const string Id = "topk";
    public override string Name => Id;
    public override string SaeLensActivationFn => Id;
    public override string Description => "k largest positive pre-activations per token (AuxK for dead latents)";
    public override bool FixedKPerToken => true;

    public override void Activate(Span<float> pre, SaeModel sae) => Sae.TopK.KeepTopKPositive(pre, sae.Config.K);

    public override string? CheckModel(SaeConfig c, float[]? threshold) =>
        c.K > 0 && c.K <= c.DSae ? null : $"topk needs 0 < k ≤ d_sae, got k = {c.K}";

    public override string? CheckTraining(SaeTrainOptions o, int latents) => CheckK(o, latents);

    internal static string? CheckK(SaeTrainOptions o, int latents) =>
        o.K <= 0 ? $"k must be positive, got {o.K}."
        : o.K >= latents ? $"k = {o.K} must be smaller than the number of latents ({latents}); raise --expansion/--latents or lower --k."
        : null;

    public override TrainingSae CreateTraining(SaeTrainOptions o, int d, int m) => new TopKTrainingSae(o, d, m);
}

/// <summary>TopK's training strategy: per-row top-k selection, AuxK on.</summary>
public sealed class TopKTrainingSae : TrainingSae
{
    public TopKTrainingSae(SaeTrainOptions o, int d, int m) : base(o, d, m) { }

    public override string Name => TopKArchitecture.Id;
    public override bool UsesAuxK => true;

    public override void Select(StepContext ctx, SaeParams p) =>
        ctx.Backend.TopKRows(ctx.Pre, ctx.Rows, M, Options.K, ctx.Codes);

    public override void AddTrainingInfo(Dictionary<string, string> t)
    {
        t["k"] = Inv(Options.K);
        t["aux_k_coefficient"] = Inv(Options.AuxCoefficient);
    }

    public override (string, int, float[]?) InferenceForm(SaeParams p) => (TopKArchitecture.Id, Options.K, null);
}
