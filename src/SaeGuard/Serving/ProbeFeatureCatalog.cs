using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>
/// The feature catalog of a <c>saeguard probe</c> folder (features.json) as an
/// <see cref="IFeatureCatalog"/>. Firing rate, mean/max activation, histogram (power-of-two bins)
/// and top contexts (±5 tokens, one per prompt) are measured by <c>probe</c> on its training
/// prompts. The probe weight is the decision probe's logit change per unit of the feature's
/// (pooled) activation: for sae/sae_topk the standardised weight times the feature's scale
/// (wⱼ·sⱼ), for dense/hybrid the dense direction on the feature's decoder row (v·dⱼ).
/// </summary>
public sealed class ProbeFeatureCatalog : IFeatureCatalog
{
    readonly FeatureSummary[] _byId;

    public ProbeFeatureCatalog(GuardClassifier classifier)
    {
        var m = classifier.Manifest;
        var weights = RawWeights(classifier, m.Decision);
        _byId = new FeatureSummary[m.DSae];
        foreach (var f in classifier.Catalog.Features)
        {
            if (f.Id < 0 || f.Id >= _byId.Length) continue;
            _byId[f.Id] = new FeatureSummary
            {
                Id = f.Id,
                Label = f.Label,
                FiringRate = f.FiringRate,
                MeanWhenActive = f.MeanWhenActive,
                MaxActivation = f.MaxActivation,
                ProbeWeight = weights[f.Id],
                Histogram = f.Histogram is { } h ? new FeatureHistogram(h.Edges, h.Counts) : new FeatureHistogram(Array.Empty<double>(), Array.Empty<long>()),
                TopContexts = (f.Contexts ?? new List<TokenContext>())
                    .Select(c => new FeatureContext(c.Prompt, c.Tokens, c.Index, c.Value)).ToArray(),
            };
        }
    }

    /// <summary>Logit change per unit of each pooled SAE feature under the given probe kind.</summary>
    public static double[] RawWeights(GuardClassifier classifier, string kind)
    {
        if (kind is ProbeKinds.Dense or ProbeKinds.Hybrid) return classifier.Hybrid.Projection;
        var p = classifier.Probes[kind];
        var w = new double[p.Width];
        for (int j = 0; j < w.Length; j++) w[j] = p.W[j] * p.Standardizer.Scale[j];
        return w;
    }

    public FeatureSummary? Get(int id) => id >= 0 && id < _byId.Length ? _byId[id] : null;

    public IEnumerable<FeatureSummary> List() => _byId.Where(f => f != null);
}
