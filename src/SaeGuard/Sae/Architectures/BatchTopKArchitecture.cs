using SaeGuard.Sae.Training;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Architectures;

/// <summary>
/// BatchTopK (Bussmann et al. 2024): the k·batch largest positive pre-activations of the whole batch
/// stay active. Training only: inference uses a global threshold, so the SAE is saved as JumpReLU
/// (as SAELens does).
/// </summary>
public sealed class BatchTopKArchitecture : SaeArchitecture
{
    public const string Id = "batchtopk";
    public override string Name => Id;
    public override string Description => "k·batch largest over the batch; saved as jumprelu with the learned global threshold";
    public override SaeArchitecture SavedAs => SaeArchitectures.JumpRelu;
    public override bool TrainsWithK => true;

    public override string? CheckTraining(SaeTrainOptions o, int latents) => TopKArchitecture.CheckK(o, latents);

    public override TrainingSae CreateTraining(SaeTrainOptions o, int d, int m) => new BatchTopKTrainingSae(o, d, m);
}

/// <summary>
/// BatchTopK's training strategy. The inference threshold is an EMA of the smallest selected
/// activation per batch, saved for every latent.
/// </summary>
public sealed class BatchTopKTrainingSae : TrainingSae
{
    double _threshold;
    float _lastTau;

    public BatchTopKTrainingSae(SaeTrainOptions o, int d, int m) : base(o, d, m) { }

    public override string Name => BatchTopKArchitecture.Id;
    public override bool UsesAuxK => true;
    public double InferenceThreshold => _threshold;

    public override void Select(StepContext ctx, SaeParams p)
    {
        long total = (long)ctx.Rows * M;
        long kth = Math.Min(total, (long)Options.K * ctx.Rows);
        float tau = ctx.Backend.KthLargestPositive(ctx.Pre, total, kth, _lastTau * 0.5f);
        _lastTau = tau;
        // entries ≥ tau (ties at tau included); tau = 0 means fewer than k·batch are positive: take them all
        float above = tau > 0 ? MathF.BitDecrement(tau) : 0f;
        ctx.Backend.SelectAbove(ctx.Pre, ctx.Rows, M, null, above, ctx.Codes);
    }

    public override void AfterStep(StepContext ctx)
    {
        float min = float.MaxValue;
        int n = ctx.Codes.Nnz;
        var val = ctx.Codes.Val;
        for (int e = 0; e < n; e++) if (val[e] > 0 && val[e] < min) min = val[e];
        if (min == float.MaxValue) return;
        double lr = Options.BatchTopKThresholdLr;
        _threshold = _threshold == 0 ? min : (1 - lr) * _threshold + lr * min;
    }

    public override Dictionary<string, double> SaveState() => new() { ["threshold"] = _threshold, ["last_tau"] = _lastTau };

    public override void LoadState(IReadOnlyDictionary<string, double> state)
    {
        _threshold = state.GetValueOrDefault("threshold");
        _lastTau = (float)state.GetValueOrDefault("last_tau");
    }

    public override void AddTrainingInfo(Dictionary<string, string> t)
    {
        t["k"] = Inv(Options.K);
        t["aux_k_coefficient"] = Inv(Options.AuxCoefficient);
        t["batchtopk_threshold"] = Inv(_threshold);
    }

    public override (string, int, float[]?) InferenceForm(SaeParams p)
    {
        var t = new float[M];
        Array.Fill(t, (float)_threshold);
        return (JumpReluArchitecture.Id, 0, t);
    }
}
