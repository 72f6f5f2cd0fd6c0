using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>
/// A <c>saeguard probe</c> folder served through <see cref="IGuardScorer"/>: verdicts are the
/// <see cref="GuardClassifier"/>'s scores under the folder's decision probe and stored threshold.
/// Thread-safe (the classifier, its model and SAE are shared read-only).
/// </summary>
public sealed class ProbeGuard : IGuardScorer, IDisposable
{
    public const int DefaultTopFeatures = 8;

    public GuardClassifier Classifier { get; }
    public int TopFeatures { get; }
    public GuardInfo Info { get; }

    public ProbeGuard(GuardClassifier classifier, int topFeatures = DefaultTopFeatures)
    {
        Classifier = classifier;
        TopFeatures = topFeatures;
        var m = classifier.Manifest;
        var decision = m.Probes[m.Decision];
        Info = new GuardInfo
        {
            Model = m.ModelName,
            Layer = m.Layer,
            Hook = m.Hook,
            Sae = new SaeInfo { DIn = m.D, DSae = m.DSae, Architecture = m.SaeArchitecture, K = classifier.Sae.Config.K },
            Pooling = m.Pooling,
            Threshold = decision.Threshold,
            MaxTokens = classifier.Source.MaxLength,
            Metrics = new Dictionary<string, double>
            {
                ["auroc"] = decision.CvAuroc,
                ["threshold_oof_tpr"] = decision.ThresholdOofTpr,
                ["threshold_oof_fpr"] = decision.ThresholdOofFpr,
                ["n_features_used"] = decision.NFeaturesUsed,
                ["n_per_class"] = m.NPerClass,
                ["folds"] = m.Folds,
            },
        };
    }

    public IReadOnlyList<GuardVerdict> Score(IReadOnlyList<string> texts) =>
        Classifier.Score(texts, new ScoreOptions { TopFeatures = TopFeatures }).Select(GuardVerdict.From).ToArray();

    public TokenTrace Explain(string text, int featureId)
    {
        if (featureId < 0 || featureId >= Classifier.Sae.DSae)
            throw new ArgumentOutOfRangeException(nameof(featureId), $"feature {featureId} is outside [0, {Classifier.Sae.DSae}).");
        return Classifier.Explain(text, new[] { featureId });
    }

    int _disposed;

    /// <summary>Frees the model; a second call does nothing (a DI container and its host may both dispose).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) Classifier.Dispose();
    }
}
