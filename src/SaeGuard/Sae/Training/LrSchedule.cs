namespace SaeGuard.Sae.Training;

/// <summary>Learning rate and sparsity-coefficient schedules over a run of <see cref="TotalSteps"/> steps.</summary>
public sealed class LrSchedule
{
    public long TotalSteps { get; }
    public double BaseLr { get; }
    public long WarmupSteps { get; }
    public long DecayStart { get; }
    public long SparsityWarmupSteps { get; }

    public LrSchedule(SaeTrainOptions o, long totalSteps, int latents)
    {
        TotalSteps = Math.Max(1, totalSteps);
        BaseLr = o.LrFor(latents);
        WarmupSteps = Math.Min(o.WarmupSteps, TotalSteps / 10);
        DecayStart = TotalSteps - (long)Math.Round(o.DecayFraction * TotalSteps);
        SparsityWarmupSteps = (long)Math.Round(o.SparsityWarmupFraction * TotalSteps);
    }

    /// <summary>lr for step (0-based): linear warm-up, constant, linear decay to 0 over the last part.</summary>
    public double Lr(long step)
    {
        double f = 1;
        if (WarmupSteps > 0 && step < WarmupSteps) f = (step + 1.0) / WarmupSteps;
        if (step >= DecayStart && DecayStart < TotalSteps) f = Math.Min(f, (double)(TotalSteps - step) / (TotalSteps - DecayStart));
        return BaseLr * f;
    }

    /// <summary>Multiplier of the sparsity coefficient: ramps from 0 to 1 over the warm-up.</summary>
    public double SparsityFactor(long step) => SparsityWarmupSteps > 0 ? Math.Min(1.0, (step + 1.0) / SparsityWarmupSteps) : 1.0;
}
