namespace SaeGuard.Probes;

/// <summary>
/// The one definition of a feature's "weight", shown as <c>probe_weight</c> by the server and the
/// feature browser and as "weight" in the probe report: the change of a probe's logit per unit
/// of the feature's pooled activation. For sae/sae_topk it is the standardised weight times the
/// feature's scale (wⱼ·sⱼ); for dense/hybrid the dense direction on the feature's decoder row (v·dⱼ).
/// </summary>
public static class FeatureWeights
{
    public static double[] Of(IReadOnlyDictionary<string, LinearProbe> probes, HybridExplainer hybrid, string kind)
    {
        if (kind is ProbeKinds.Dense or ProbeKinds.Hybrid) return (double[])hybrid.Projection.Clone();
        var p = probes[kind];
        var w = new double[p.Width];
        for (int j = 0; j < w.Length; j++) w[j] = p.W[j] * p.Standardizer.Scale[j];
        return w;
    }
}
