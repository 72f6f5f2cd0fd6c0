using SaeGuard.Sae.Training;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Architectures;

/// <summary>JumpReLU (Rajamanoharan et al. 2024): z = pre·H(pre − θ) with a per-latent threshold θ.</summary>
public sealed class JumpReluArchitecture : SaeArchitecture
{
    public const string Id = "jumprelu";
    public override string Name => Id;
    public override string Description => "learned per-latent threshold with an L0 penalty (--l1 sets it)";
    public override bool NeedsThreshold => true;
    public override bool TrainsTheta => true;
    public override double DefaultSparsityCoefficient => 1.0;

    public override void Activate(Span<float> pre, SaeModel sae)
    {
        var threshold = sae.Threshold!;
        for (int j = 0; j < pre.Length; j++) if (!(pre[j] > threshold[j]) || pre[j] <= 0) pre[j] = 0;
    }

    public override string? CheckModel(SaeConfig c, float[]? threshold) =>
        threshold != null && threshold.Length == c.DSae ? null : $"a jumprelu SAE needs threshold [{c.DSae}]";

    public override TrainingSae CreateTraining(SaeTrainOptions o, int d, int m) => new JumpReluTrainingSae(o, d, m);
}

/// <summary>
/// JumpReLU's training strategy: θ (fp32, kept ≥ 0) and an L0 penalty λ·Σ H(pre − θ). θ learns
/// through straight-through estimators with a rectangle kernel of width ε: ∂z/∂θ = −(θ/ε)·K((pre−θ)/ε),
/// ∂H/∂θ = −(1/ε)·K((pre−θ)/ε); gradients to pre are the exact ones (H passes none).
/// The bandwidth, the initial threshold and θ's step size are the paper's values in its units
/// (inputs with E‖x‖² = 1); the trainer scales inputs to E‖x‖² = d_in, so pre-activations are
/// √d_in larger and all three are multiplied by √d_in here.
/// </summary>
public sealed class JumpReluTrainingSae : TrainingSae
{
    float[] _window = Array.Empty<float>();
    float[] _entryPre = Array.Empty<float>();

    public JumpReluTrainingSae(SaeTrainOptions o, int d, int m) : base(o, d, m) { }

    public override string Name => JumpReluArchitecture.Id;
    public override bool HasTheta => true;
    float Eps => (float)(Options.JumpReluBandwidth * Math.Sqrt(D));
    public override double ThetaLrScale => Math.Sqrt(D);

    public override void Initialize(SaeParams p) => Array.Fill(p.Theta!, (float)(Options.JumpReluInitThreshold * Math.Sqrt(D)));

    public override void Select(StepContext ctx, SaeParams p)
    {
        var theta = p.Theta!;
        if (_window.Length != M) _window = new float[M];
        for (int j = 0; j < M; j++) _window[j] = theta[j] - Eps / 2;
        // active entries and the inactive ones inside the kernel window (value 0; they feed θ's gradient)
        ctx.Backend.SelectAbove(ctx.Pre, ctx.Rows, M, _window, 0, ctx.Codes);
        int n = ctx.Codes.Nnz;
        if (_entryPre.Length < n) _entryPre = new float[Math.Max(n, _entryPre.Length * 3 / 2)];
        var idx = ctx.Codes.Idx; var val = ctx.Codes.Val;
        for (int e = 0; e < n; e++)
        {
            _entryPre[e] = val[e];
            if (!(val[e] > theta[idx[e]]) || val[e] <= 0) val[e] = 0;
        }
    }

    public override double EntryDeltas(StepContext ctx, SaeParams p, double coef)
    {
        base.EntryDeltas(ctx, p, coef);
        int n = ctx.Codes.Nnz;
        long active = 0;
        for (int e = 0; e < n; e++) if (ctx.Codes.Val[e] > 0) active++;
        return coef * active / ctx.Rows;
    }

    public override void ExtraGradients(StepContext ctx, SaeParams p, SaeParams grads, double coef)
    {
        var theta = p.Theta!;
        var g = new double[M];
        double eps = Eps, l0Term = coef / (eps * ctx.Rows);
        int n = ctx.Codes.Nnz;
        var idx = ctx.Codes.Idx;
        for (int e = 0; e < n; e++)
        {
            int j = idx[e];
            double u = (_entryPre[e] - theta[j]) / eps;
            if (u > -0.5 && u < 0.5) g[j] += ctx.Dz[e] * (-theta[j] / eps) - l0Term;
        }
        for (int j = 0; j < M; j++) grads.Theta![j] = (float)g[j];
    }

    public override void AfterUpdate(SaeParams p)
    {
        var t = p.Theta!;
        for (int j = 0; j < t.Length; j++) if (t[j] < 0) t[j] = 0;
    }

    public override void AddTrainingInfo(Dictionary<string, string> t)
    {
        t["l0_coefficient"] = Inv(Options.SparsityCoefficient);
        t["bandwidth"] = Inv(Options.JumpReluBandwidth);
    }

    public override (string, int, float[]?) InferenceForm(SaeParams p) => (JumpReluArchitecture.Id, 0, (float[])p.Theta!.Clone());
}
