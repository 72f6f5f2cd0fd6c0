using SaeGuard.Common;
using SaeGuard.Models;
using SaeGuard.Sae;

namespace SaeGuard.Serving;

/// <summary>
/// A logistic classifier over pooled SAE features: score = σ(bias + Σ_j w_j·pooled_j); a text is
/// harmful when score ≥ threshold. Feature j's contribution to a verdict is w_j·pooled_j.
/// </summary>
public sealed record LinearHead(float[] Weights, double Bias, double Threshold = 0.5, string Pooling = "mean")
{
    public double Logit(ReadOnlySpan<float> pooled)
    {
        double z = Bias;
        for (int j = 0; j < Weights.Length; j++) z += (double)Weights[j] * pooled[j];
        return z;
    }
}

/// <summary>
/// The guard as SaeGuard runs it in process: an activation source (e.g. the built-in MiniLM at
/// one layer), an SAE, and a <see cref="LinearHead"/> over pooled SAE codes. Thread-safe.
/// </summary>
public sealed class SaeGuardScorer : IGuardScorer, IDisposable
{
    readonly IActivationSource _source;
    readonly bool _ownsSource;
    readonly Func<int, string> _label;
    readonly int _batchSize;

    public SaeModel Sae { get; }
    public LinearHead Head { get; }
    /// <summary>How many features each verdict lists.</summary>
    public int TopFeatures { get; }
    public GuardInfo Info { get; }

    public SaeGuardScorer(IActivationSource source, SaeModel sae, LinearHead head,
        IReadOnlyDictionary<string, double>? metrics = null, Func<int, string>? labels = null,
        int topFeatures = 8, int batchSize = 32, bool ownsSource = false)
    {
        TextFeatures.CheckCompatible(source, sae);
        if (head.Weights.Length != sae.DSae)
            throw new UserError($"The probe has {head.Weights.Length} weights but the SAE has d_sae = {sae.DSae} features.");
        Probes.PoolingNames.Parse(head.Pooling); // throws for an unknown pooling
        _source = source;
        _ownsSource = ownsSource;
        Sae = sae;
        Head = head;
        _label = labels ?? (id => $"feature {id}");
        TopFeatures = topFeatures;
        _batchSize = batchSize;
        Info = new GuardInfo
        {
            Model = source.ModelName,
            Layer = source.Layer,
            Hook = source.Hook,
            Sae = new SaeInfo { DIn = sae.DIn, DSae = sae.DSae, Architecture = sae.Config.Architecture, K = sae.Config.K },
            Pooling = head.Pooling,
            Threshold = head.Threshold,
            MaxTokens = source.MaxLength,
            Metrics = metrics ?? new Dictionary<string, double>(),
        };
    }

    public IReadOnlyList<GuardVerdict> Score(IReadOnlyList<string> texts)
    {
        var codes = TextFeatures.Encode(_source, Sae, texts, _batchSize);
        var verdicts = new GuardVerdict[codes.Length];
        for (int i = 0; i < codes.Length; i++) verdicts[i] = Verdict(codes[i]);
        return verdicts;
    }

    GuardVerdict Verdict(TextCodes codes)
    {
        var pooled = TextFeatures.Pool(codes, Head.Pooling);
        double score = Probes.LogisticRegression.Sigmoid(Head.Logit(pooled));
        var top = new List<FeatureContribution>();
        for (int j = 0; j < pooled.Length; j++)
        {
            double c = (double)Head.Weights[j] * pooled[j];
            if (c != 0) top.Add(new FeatureContribution(j, c, ""));
        }
        var chosen = top.OrderByDescending(c => Math.Abs(c.Contribution)).ThenBy(c => c.Id).Take(TopFeatures)
            .Select(c => c with { Label = _label(c.Id) }).ToArray();
        return new GuardVerdict
        {
            Score = score,
            Label = GuardLabels.For(score, Head.Threshold),
            Threshold = Head.Threshold,
            TopFeatures = chosen,
            Tokens = codes.Tokens.Length,
            TokensTruncated = codes.Tokens.Truncated,
        };
    }

    public TokenActivations Explain(string text, int featureId)
    {
        if (featureId < 0 || featureId >= Sae.DSae)
            throw new ArgumentOutOfRangeException(nameof(featureId), $"feature {featureId} is outside [0, {Sae.DSae}).");
        var codes = TextFeatures.Encode(_source, Sae, new[] { text }, 1)[0];
        var tokens = new TokenActivation[codes.Tokens.Length];
        for (int t = 0; t < tokens.Length; t++)
            tokens[t] = new TokenActivation(_source.TokenText(codes.Tokens.Ids[t]), codes.Row(t)[featureId], codes.Tokens.IsSpecial[t]);
        return new TokenActivations(featureId, tokens, codes.Tokens.Truncated);
    }

    public void Dispose()
    {
        if (_ownsSource) _source.Dispose();
    }
}
