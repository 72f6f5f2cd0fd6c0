using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>A <see cref="SpanGuard"/> (the built-in default guard, or a span-guard folder) served through <see cref="IGuardScorer"/>.</summary>
public sealed class SpanGuardScorer : IGuardScorer, IDisposable
{
    public SpanGuard Guard { get; }
    public int TopFeatures { get; }
    public GuardInfo Info { get; }

    public SpanGuardScorer(SpanGuard guard, int topFeatures = ProbeGuard.DefaultTopFeatures)
    {
        Guard = guard;
        TopFeatures = topFeatures;
        var m = guard.Manifest;
        var val = m.Metrics.GetValueOrDefault("val") ?? new Dictionary<string, double>();
        Info = new GuardInfo
        {
            Model = guard.Source.ModelName,
            Layer = m.Layer,
            Sae = new SaeInfo { DIn = guard.Model.D, DSae = guard.Model.Sae.DSae, Architecture = guard.Model.Sae.Config.Architecture, K = guard.Model.Sae.Config.K },
            Pooling = $"span{m.SpanLength}+window-mean, max over spans and windows",
            Threshold = m.Threshold,
            MaxTokens = guard.Source.MaxLength,
            Metrics = val.ToDictionary(kv => "val_" + kv.Key, kv => kv.Value),
        };
    }

    public IReadOnlyList<GuardVerdict> Score(IReadOnlyList<string> texts) =>
        Guard.Score(texts, TopFeatures).Select(r => GuardVerdict.From(SpanGuard.ToGuardResult(r))).ToArray();

    public TokenTrace Explain(string text, int featureId)
    {
        var t = Guard.FeatureOnTokens(text, featureId);
        return new TokenTrace(new[] { featureId }, t.Select(x => new TokenActivation(x.Token, new[] { (float)x.Activation }, x.IsSpecial)).ToList(),
            Guard.Source.Tokenize(text).Truncated);
    }

    /// <summary>The feature catalog of a span guard: its labels.</summary>
    public FeatureCatalog Catalog() =>
        new() { Features = Guard.Model.Labels.Select((l, j) => new FeatureInfo { Id = j, Label = l }).ToList() };

    int _disposed;

    /// <summary>Frees the model; a second call does nothing (a DI container and its host may both dispose).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) Guard.Dispose();
    }
}
