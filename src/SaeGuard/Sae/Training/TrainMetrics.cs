using System.Text.Json.Serialization;

namespace SaeGuard.Sae.Training;

/// <summary>
/// One line of metrics.jsonl (SPEC.md "train"). Reconstruction figures are in the activations'
/// own units: mse = mean over tokens of ‖x − x̂‖² / d_in; explained_variance =
/// 1 − Σ‖x−x̂‖²/Σ‖x−x̄‖²; nmse = mean‖x−x̂‖²/mean‖x‖²; l0 = mean active latents per token;
/// dead_fraction = latents that did not fire in the last dead-window tokens of training;
/// freq_over_* = share of latents firing on more than 1% / 10% of the tokens measured;
/// l2_ratio = mean ‖x̂‖/‖x‖. Training lines cover the steps since the previous line; the final
/// line (split "heldout") is measured with the saved SAE on held-out rows.
/// </summary>
public sealed record TrainMetrics
{
    [JsonPropertyName("split")] public string Split { get; init; } = "train";
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("tokens_seen")] public long TokensSeen { get; init; }
    [JsonPropertyName("mse")] public double Mse { get; init; }
    [JsonPropertyName("explained_variance")] public double ExplainedVariance { get; init; }
    [JsonPropertyName("nmse")] public double Nmse { get; init; }
    [JsonPropertyName("l0")] public double L0 { get; init; }
    [JsonPropertyName("dead_fraction")] public double DeadFraction { get; init; }
    [JsonPropertyName("freq_over_1pct")] public double FreqOver1Pct { get; init; }
    [JsonPropertyName("freq_over_10pct")] public double FreqOver10Pct { get; init; }
    [JsonPropertyName("l2_ratio")] public double L2Ratio { get; init; }
    [JsonPropertyName("aux_loss")] public double AuxLoss { get; init; }
    [JsonPropertyName("sparsity_loss")] public double SparsityLoss { get; init; }
    [JsonPropertyName("loss")] public double Loss { get; init; }
    [JsonPropertyName("lr")] public double Lr { get; init; }
    [JsonPropertyName("tokens_per_s")] public double TokensPerS { get; init; }
    /// <summary>Where the steps ran (cpu, cuda:0 NAME, ilgpu-cpu).</summary>
    [JsonPropertyName("device")] public string? Device { get; init; }
    /// <summary>Highest share of tokens any one latent fires on.</summary>
    [JsonPropertyName("max_feature_frequency")] public double MaxFeatureFrequency { get; init; }
    /// <summary>Latents firing on more than half the tokens measured.</summary>
    [JsonPropertyName("features_over_50pct")] public int FeaturesOver50Pct { get; init; }
    [JsonPropertyName("measured_tokens")] public long MeasuredTokens { get; init; }
    /// <summary>Final line only: latents that never fired on the held-out rows.</summary>
    [JsonPropertyName("heldout_never_fired_fraction")] public double? HeldoutNeverFiredFraction { get; init; }
    [JsonPropertyName("dead_window_tokens")] public long? DeadWindowTokens { get; init; }

    /// <summary>Frequency figures from per-latent firing counts over <paramref name="tokens"/> tokens.</summary>
    public TrainMetrics WithFrequencies(ReadOnlySpan<long> fires, long tokens)
    {
        int m = fires.Length, over1 = 0, over10 = 0, over50 = 0;
        long max = 0;
        foreach (var f in fires)
        {
            if (f > 0.01 * tokens) over1++;
            if (f > 0.10 * tokens) over10++;
            if (f > 0.50 * tokens) over50++;
            max = Math.Max(max, f);
        }
        return this with
        {
            FreqOver1Pct = (double)over1 / m, FreqOver10Pct = (double)over10 / m, FeaturesOver50Pct = over50,
            MaxFeatureFrequency = tokens > 0 ? (double)max / tokens : 0, MeasuredTokens = tokens,
        };
    }

    /// <summary>Reconstruction figures from step sums; <paramref name="unitScale"/> converts squared units back to the raw activations.</summary>
    public static TrainMetrics FromStats(StepStats s, int d, double unitScale)
    {
        long n = Math.Max(1, s.Tokens);
        return new TrainMetrics
        {
            Mse = s.Sse * unitScale / (n * (double)d),
            ExplainedVariance = s.ExplainedVariance,
            Nmse = s.SumSq > 0 ? s.Sse / s.SumSq : double.NaN,
            L0 = s.Active / n,
            L2Ratio = s.L2Ratio / n,
        };
    }
}
