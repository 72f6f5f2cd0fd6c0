namespace SaeGuard.Probes;

/// <summary>
/// An SAE feature's share of one prompt's logit (+ pushes toward harmful): its pooled
/// <paramref name="Activation"/> times its <see cref="FeatureWeights">weight</see> under the probe
/// that scored (for sae/sae_topk measured from the standardised mean, for hybrid z·(v·d)).
/// <paramref name="Token"/>, where known, is the token of this prompt it fired on most.
/// </summary>
public sealed record FeatureContribution(int Id, double Contribution, float Activation, string Label, string? Token = null);
