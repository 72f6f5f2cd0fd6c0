using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>
/// A <c>saeguard probe</c> output folder served through <see cref="IGuardScorer"/>: scores come
/// from <see cref="GuardClassifier.Score(IReadOnlyList{string}, ScoreOptions?)"/> with the
/// folder's decision probe and stored threshold. Thread-safe (the classifier, its model and SAE
/// are shared read-only).
/// </summary>
public sealed class ProbeGuard : IGuardScorer, IDisposable
{
    public GuardClassifier Classifier { get; }
    public int TopFeatures { get; }
    public GuardInfo Info { get; }
    readonly bool _roundToF16;

    public ProbeGuard(GuardClassifier classifier, int topFeatures = 8)
    {
        Classifier = classifier;
        TopFeatures = topFeatures;
        var m = classifier.Manifest;
        var decision = m.Probes[m.Decision];
        _roundToF16 = m.ActsDtype == "f16";
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

    public static ProbeGuard Load(string dir, int topFeatures = 8) => new(GuardClassifier.Load(dir), topFeatures);

    public IReadOnlyList<GuardVerdict> Score(IReadOnlyList<string> texts)
    {
        var results = Classifier.Score(texts, new ScoreOptions { TopFeatures = TopFeatures });
        var verdicts = new GuardVerdict[results.Count];
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            // GuardClassifier does not report token counts; tokenising again is cheap next to the model run.
            var tokens = Classifier.Source.Tokenize(texts[i]);
            verdicts[i] = new GuardVerdict
            {
                Score = r.Score,
                Label = r.Label,
                Threshold = r.Threshold,
                TopFeatures = r.TopFeatures.Select(f => new FeatureContribution(f.Id, f.Contribution, f.Label)).ToArray(),
                Tokens = tokens.Length,
                TokensTruncated = tokens.Truncated,
            };
        }
        return verdicts;
    }

    /// <summary>
    /// The feature's SAE activation on every token, special ones included: the text's layer
    /// activations (rounded to f16 when the probe was trained on f16 dumps, as scoring does),
    /// encoded row by row by the probe's SAE.
    /// </summary>
    public TokenActivations Explain(string text, int featureId)
    {
        var sae = Classifier.Sae;
        if (featureId < 0 || featureId >= sae.DSae)
            throw new ArgumentOutOfRangeException(nameof(featureId), $"feature {featureId} is outside [0, {sae.DSae}).");
        var source = Classifier.Source;
        var tok = source.Tokenize(text);
        var acts = source.Run(new[] { tok })[0];
        if (_roundToF16) for (int i = 0; i < acts.Length; i++) acts[i] = (float)(Half)acts[i];
        var codes = sae.Encode(acts, tok.Length);
        var tokens = new TokenActivation[tok.Length];
        for (int t = 0; t < tokens.Length; t++)
            tokens[t] = new TokenActivation(source.TokenText(tok.Ids[t]), codes[t * sae.DSae + featureId], tok.IsSpecial[t]);
        return new TokenActivations(featureId, tokens, tok.Truncated);
    }

    public void Dispose() => Classifier.Dispose();
}
