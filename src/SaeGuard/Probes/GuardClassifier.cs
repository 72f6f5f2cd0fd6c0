using SaeGuard.Common;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>An SAE feature's share of one prompt's logit.</summary>
public sealed record FeatureContribution(int Id, double Contribution, float Activation, string Label);

/// <summary>One token of a scored prompt with the activations of the result's top features (same order).</summary>
public sealed record TokenActivation(string Token, float[] Activations);

public sealed record GuardResult
{
    public string Text { get; init; } = "";
    /// <summary>P(harmful) from the probe.</summary>
    public double Score { get; init; }
    /// <summary>"harmful" when Score ≥ Threshold, else "benign".</summary>
    public string Label { get; init; } = "";
    public double Threshold { get; init; }
    public string Probe { get; init; } = "";
    /// <summary>Features with the largest |contribution| to the logit, largest first.</summary>
    public IReadOnlyList<FeatureContribution> TopFeatures { get; init; } = Array.Empty<FeatureContribution>();
    /// <summary>Hybrid/dense: the part of the logit the SAE does not explain.</summary>
    public double? Residual { get; init; }
    public IReadOnlyList<TokenActivation>? Tokens { get; init; }
}

public sealed record ScoreOptions
{
    /// <summary>sae, sae_topk, dense or hybrid; null = the probe folder's decision.</summary>
    public string? Probe { get; init; }
    /// <summary>Overrides the stored threshold.</summary>
    public double? Threshold { get; init; }
    public int TopFeatures { get; init; } = 5;
    /// <summary>Also return each token's activations of the top features.</summary>
    public bool IncludeTokens { get; init; }
}

/// <summary>How to open a probe folder's model.</summary>
public sealed record GuardLoadOptions
{
    /// <summary>Overrides the model recorded in probe.json (e.g. the ONNX file moved).</summary>
    public string? Model { get; init; }
    /// <summary>Model threads (0 = the runtime's default).</summary>
    public int Threads { get; init; }
    public Models.ModelSources Models { get; init; } = SaeGuard.Models.ModelSources.BuiltIn;
}

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
        Directory = dir; Manifest = manifest; Catalog = catalog; Sae = sae; Probes = probes; _featurizer = featurizer;
        Hybrid = new HybridExplainer(probes[ProbeKinds.Dense], sae);
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
            var codes = f.CodeRow(i);
            double? residual = null;
            if (kind is ProbeKinds.Dense or ProbeKinds.Hybrid)
            {
                Hybrid.Contributions(codes, c);
                residual = Hybrid.Residual(f.DenseRow(i), codes);
            }
            else Probes[kind].Contributions(codes, c);
            var top = Enumerable.Range(0, f.M).Where(j => c[j] != 0).OrderByDescending(j => Math.Abs(c[j])).ThenBy(j => j)
                .Take(o.TopFeatures).Select(j => new FeatureContribution(j, c[j], f.Codes[i * f.M + j], FeatureLabel(j))).ToList();
            IReadOnlyList<TokenActivation>? tokens = null;
            if (o.IncludeTokens)
            {
                var ids = f.TokenIds[i];
                var tc = f.TokenCodes![i];
                tokens = ids.Select((id, t) => new TokenActivation(_featurizer.Source.TokenText(id),
                    top.Select(ft => tc[t * f.M + ft.Id]).ToArray())).ToList();
            }
            results[i] = new GuardResult
            {
                Text = texts[i], Score = scores[i], Threshold = threshold, Probe = kind,
                Label = scores[i] >= threshold ? Data.Labels.Harmful : Data.Labels.Benign,
                TopFeatures = top, Residual = residual, Tokens = tokens,
            };
        }
        return results;
    }

    public void Dispose() => _featurizer.Source.Dispose();
}
