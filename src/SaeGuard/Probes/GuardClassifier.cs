using SaeGuard.Common;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>
/// Scores texts with a saved probe folder (probe.json, weights, features.json, sae/): the model,
/// layer, pooling and thresholds all come from the folder. Thread-safe: concurrent
/// <see cref="Score(IReadOnlyList{string}, ScoreOptions?)"/> calls share only read-only state.
/// </summary>
public sealed class GuardClassifier : IDisposable
{
    public ProbeManifest Manifest { get; }
    public FeatureCatalog Catalog { get; }
    public SaeModel Sae { get; }
    public IReadOnlyDictionary<string, LinearProbe> Probes { get; }
    public HybridExplainer Hybrid { get; }
    public string Directory { get; }
    /// <summary>The model the probe reads (tokenizer and layer activations); shared, thread-safe.</summary>
    public Models.IActivationSource Source => _featurizer.Source;
    readonly TextFeaturizer _featurizer;
    readonly string[] _labels;

    GuardClassifier(string dir, ProbeManifest manifest, FeatureCatalog catalog, SaeModel sae, Dictionary<string, LinearProbe> probes, TextFeaturizer featurizer)
    {
        Directory = dir; Manifest = manifest; Sae = sae; Probes = probes; _featurizer = featurizer;
        Hybrid = new HybridExplainer(probes[ProbeKinds.Dense], sae);
        // recomputed from the probes, so the weight has one definition whatever wrote features.json
        Catalog = catalog.WithWeights(FeatureWeights.Of(probes, Hybrid, manifest.Decision));
        _labels = new string[sae.DSae];
        foreach (var f in catalog.Features) if (f.Id >= 0 && f.Id < _labels.Length) _labels[f.Id] = f.Label;
    }

    public static GuardClassifier Load(string probeDir, GuardLoadOptions? options = null)
    {
        var o = options ?? new GuardLoadOptions();
        var m = ProbeManifest.Load(probeDir);
        var sae = SaeLensFormat.Load(Path.Combine(probeDir, m.Sae));
        if (sae.DIn != m.D || sae.DSae != m.DSae)
            throw new UserError($"'{probeDir}/{m.Sae}' is {sae.DIn}→{sae.DSae}, but probe.json expects {m.D}→{m.DSae}.");
        var weights = Path.Combine(probeDir, m.Weights);
        if (!File.Exists(weights)) throw new UserError($"Probe folder '{probeDir}' is missing '{m.Weights}'.");
        var probes = new Dictionary<string, LinearProbe>
        {
            [ProbeKinds.Sae] = ProbeWeights.Read(weights, ProbeKinds.Sae, m.DSae, m.Probes.GetValueOrDefault(ProbeKinds.Sae)?.C),
            [ProbeKinds.SaeTopK] = ProbeWeights.Read(weights, ProbeKinds.SaeTopK, m.DSae, m.Probes.GetValueOrDefault(ProbeKinds.SaeTopK)?.C),
            [ProbeKinds.Dense] = ProbeWeights.Read(weights, ProbeKinds.Dense, m.D, m.Probes.GetValueOrDefault(ProbeKinds.Dense)?.C),
        };
        foreach (var k in ProbeKinds.All)
            if (!m.Probes.ContainsKey(k)) throw new UserError($"'{probeDir}/{ProbeManifest.FileName}' has no entry for the '{k}' probe.");
        var catalog = FeatureCatalog.Load(Path.Combine(probeDir, m.Features));
        var source = ProbeSource.Open(o.Models, o.Model ?? m.Model, m.Layer, m.MaxLength, m.HookTensor, m.ModelSha256, o.Threads);
        try
        {
            var featurizer = new TextFeaturizer(source, sae, PoolingNames.Parse(m.Pooling), m.ActsDtype == "f16");
            sae.Encode(new float[sae.DIn], 1); // builds the encoder's cached transpose before concurrent use
            return new GuardClassifier(probeDir, m, catalog, sae, probes, featurizer);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    public string FeatureLabel(int id) => id >= 0 && id < _labels.Length ? _labels[id] ?? "" : "";

    public GuardResult Score(string text, ScoreOptions? options = null) => Score(new[] { text }, options)[0];

    /// <summary>Scores texts; each text is tokenized and run through the model once.</summary>
    public IReadOnlyList<GuardResult> Score(IReadOnlyList<string> texts, ScoreOptions? options = null)
    {
        var o = options ?? new ScoreOptions();
        var kind = ProbeKinds.Parse(o.Probe ?? Manifest.Decision);
        double threshold = o.Threshold ?? Manifest.Probes[kind].Threshold;
        if (texts.Count == 0) return Array.Empty<GuardResult>();
        var f = _featurizer.Run(texts, keepTokenCodes: o.IncludeTokens);
        var scores = ProbeScoring.ScoreAll(kind, Probes, f);
        var results = new GuardResult[texts.Count];
        var c = new double[f.M];
        for (int i = 0; i < texts.Count; i++)
        {
            double? residual = Contributions(kind, f, i, c);
            var top = TopContributions(c, f, i, o.TopFeatures, positive: true);
            var negative = TopContributions(c, f, i, o.TopFeatures, positive: false);
            var tok = f.Tokenized![i];
            results[i] = new GuardResult
            {
                Text = texts[i], Score = scores[i], Threshold = threshold, Probe = kind,
                Label = Data.Labels.ForScore(scores[i], threshold),
                TopFeatures = top, NegativeFeatures = negative, Residual = residual,
                Offset = kind is ProbeKinds.Dense or ProbeKinds.Hybrid ? Hybrid.Baseline : Probes[kind].B,
                Tokens = o.IncludeTokens ? TopTokenActivations(f, i, top) : null,
                TokenCount = tok.Length, TokensTruncated = tok.Truncated,
            };
        }
        return results;
    }

    /// <summary>
    /// The activations of <paramref name="features"/> on every token of <paramref name="text"/>
    /// (special tokens included, flagged), from the activations scoring pools.
    /// </summary>
    public TokenTrace Explain(string text, IReadOnlyList<int> features)
    {
        foreach (var id in features)
            if (id < 0 || id >= Sae.DSae)
                throw new ArgumentOutOfRangeException(nameof(features), $"feature {id} is outside [0, {Sae.DSae}).");
        var (tok, codes) = _featurizer.TokenCodes(text);
        int m = Sae.DSae;
        var tokens = new TokenActivation[tok.Length];
        for (int t = 0; t < tokens.Length; t++)
            tokens[t] = new TokenActivation(Source.TokenText(tok.Ids[t]), features.Select(j => codes[t * m + j]).ToArray(), tok.IsSpecial[t]);
        return new TokenTrace(features.ToArray(), tokens, tok.Truncated);
    }

    /// <summary>Fills c with each feature's logit term for text i; returns the SAE residual (hybrid/dense).</summary>
    double? Contributions(string kind, PromptFeatures f, int i, double[] c)
    {
        var codes = f.CodeRow(i);
        if (kind is ProbeKinds.Dense or ProbeKinds.Hybrid)
        {
            Hybrid.Contributions(codes, c);
            return Hybrid.Residual(f.DenseRow(i), codes);
        }
        Probes[kind].Contributions(codes, c);
        return null;
    }

    /// <summary>The n features that pushed the score up most (positive), or down most (negative), largest first,
    /// each with the token of prompt i it fired on most.</summary>
    List<FeatureContribution> TopContributions(double[] c, PromptFeatures f, int i, int n, bool positive)
    {
        var codes = f.CodeRow(i);
        var order = Enumerable.Range(0, c.Length).Where(j => positive ? c[j] > 0 : c[j] < 0)
            .OrderByDescending(j => Math.Abs(c[j])).ThenBy(j => j).Take(n).ToArray();
        var top = new List<FeatureContribution>(order.Length);
        foreach (var j in order) top.Add(new FeatureContribution(j, c[j], codes[j], FeatureLabel(j), f.PeakToken(i, j, Source.TokenText)));
        return top;
    }

    List<TokenActivation> TopTokenActivations(PromptFeatures f, int i, IReadOnlyList<FeatureContribution> top)
    {
        var ids = f.TokenIds[i];
        var tc = f.TokenCodes![i];
        return ids.Select((id, t) => new TokenActivation(Source.TokenText(id), top.Select(ft => tc[t * f.M + ft.Id]).ToArray())).ToList();
    }

    public void Dispose() => _featurizer.Source.Dispose();
}
