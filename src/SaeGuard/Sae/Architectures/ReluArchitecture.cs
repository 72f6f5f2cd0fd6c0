using System.Numerics.Tensors;
using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Training;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Architectures;

/// <summary>The standard SAE (SAELens "standard"): z = ReLU(pre) with an L1 penalty.</summary>
public sealed class ReluArchitecture : SaeArchitecture
{
    public const string Id = "relu";
    public override string Name => Id;
    public override string SaeLensName => "standard";
    public override string Description => "ReLU + L1 (SAELens standard; --l1 sets the coefficient)";
    public override double DefaultSparsityCoefficient => 2.0;

    public override void Activate(Span<float> pre, SaeModel sae) => TensorPrimitives.Max(pre, 0f, pre);

    public override string DenseHint(SaeTrainOptions o) =>
        $" (L1 coefficient {o.SparsityCoefficient} is too weak; raise --l1 or use --arch {SaeArchitectures.TopK.Name})";

    public override TrainingSae CreateTraining(SaeTrainOptions o, int d, int m) => new ReluTrainingSae(o, d, m);
}

/// <summary>
/// ReLU's training strategy: an L1 penalty λ·Σ z_j·‖W_dec,j‖ (warmed up). With a weak λ its codes
/// are dense; that is the failure SaeGuard's analysis diagnoses, reproducible on purpose.
/// </summary>
public sealed class ReluTrainingSae : TrainingSae
{
    float[] _norms = Array.Empty<float>();

    public ReluTrainingSae(SaeTrainOptions o, int d, int m) : base(o, d, m) { }

    public override string Name => ReluArchitecture.Id;

    public override void Select(StepContext ctx, SaeParams p)
    {
        if (_norms.Length != M) _norms = new float[M];
        for (int j = 0; j < M; j++)
        {
            var w = p.WDec.AsSpan(j * D, D);
            _norms[j] = MathF.Sqrt(Simd.Dot(w, w));
        }
        ctx.Backend.SelectAbove(ctx.Pre, ctx.Rows, M, null, 0f, ctx.Codes);
    }

    public override double EntryDeltas(StepContext ctx, SaeParams p, double coef)
    {
        int n = ctx.Codes.Nnz;
        var idx = ctx.Codes.Idx; var val = ctx.Codes.Val;
        float perToken = (float)(coef / ctx.Rows);
        double penalty = 0;
        for (int e = 0; e < n; e++)
        {
            float nj = _norms[idx[e]];
            ctx.Delta[e] = ctx.Dz[e] + perToken * nj;
            penalty += (double)val[e] * nj;
        }
        return coef * penalty / ctx.Rows;
    }

    public override void ExtraGradients(StepContext ctx, SaeParams p, SaeParams grads, double coef)
    {
        // ∂/∂W_dec,j of λ/B·Σ_t z_tj‖W_dec,j‖ = λ/B·(Σ_t z_tj)·W_dec,j/‖W_dec,j‖ (removed again by the
        // unit-norm projection during training; kept so the gradient is the loss's true gradient)
        var sumZ = new double[M];
        int n = ctx.Codes.Nnz;
        var idx = ctx.Codes.Idx; var val = ctx.Codes.Val;
        for (int e = 0; e < n; e++) sumZ[idx[e]] += val[e];
        for (int j = 0; j < M; j++)
            if (sumZ[j] != 0 && _norms[j] > 0)
                Simd.Axpy((float)(coef / ctx.Rows * sumZ[j] / _norms[j]), p.WDec.AsSpan(j * D, D), grads.WDec.AsSpan(j * D, D));
    }

    public override void AddTrainingInfo(Dictionary<string, string> t) => t["l1_coefficient"] = Inv(Options.SparsityCoefficient);

    public override (string, int, float[]?) InferenceForm(SaeParams p) => (ReluArchitecture.Id, 0, null);
}
