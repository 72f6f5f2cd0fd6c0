using SaeGuard.Sae.Backend;

namespace SaeGuard.Sae.Training.Architectures;

/// <summary>
/// The standard SAE: z = ReLU(pre) with an L1 penalty λ·Σ z_j·‖W_dec,j‖ (warmed up). With a weak λ
/// its codes are dense; that is the failure SaeGuard's analysis diagnoses, reproducible on purpose.
/// </summary>
public sealed class ReluTrainingSae : TrainingSae
{
    float[] _norms = Array.Empty<float>();

    public ReluTrainingSae(SaeTrainOptions o, int d, int m) : base(o, d, m) { }

    public override string Name => "relu";

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

    public override (string, int, float[]?) InferenceForm(SaeParams p) => ("relu", 0, null);
}
