namespace SaeGuard.Sae.Training.Architectures;

/// <summary>z = TopK_k(ReLU(pre)) per token (Gao et al. 2024); dead latents trained by AuxK.</summary>
public sealed class TopKTrainingSae : TrainingSae
{
    public TopKTrainingSae(SaeTrainOptions o, int d, int m) : base(o, d, m) { }

    public override string Name => "topk";
    public override bool UsesAuxK => true;

    public override void Select(StepContext ctx, SaeParams p) =>
        ctx.Backend.TopKRows(ctx.Pre, ctx.Rows, M, Options.K, ctx.Codes);

    public override (string, int, float[]?) InferenceForm(SaeParams p) => ("topk", Options.K, null);
}
