using System.Text;
using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Probes;

/// <summary>features.json of a probe folder.</summary>
public sealed record FeatureCatalog
{
    public List<FeatureInfo> Features { get; init; } = new();
    /// <summary>The SAE probe's features by |weight|, then the top-k probe's remaining ones.</summary>
    public List<FeatureExplanation> Explained { get; init; } = new();

    /// <summary>Tokens kept on each side of a context's firing token.</summary>
    public const int ContextWindow = 5;

    /// <summary>The feature with this id, or null.</summary>
    public FeatureInfo? Get(int id) => id >= 0 && id < Features.Count && Features[id].Id == id ? Features[id] : Features.FirstOrDefault(f => f.Id == id);

    /// <summary>The catalog with every feature's (and explanation's) decision weight set from <paramref name="weights"/>.</summary>
    public FeatureCatalog WithWeights(double[] weights) => this with
    {
        Features = Features.Select(f => f with { Weight = f.Id >= 0 && f.Id < weights.Length ? weights[f.Id] : 0 }).ToList(),
        Explained = Explained.Select(f => f with { Weight = f.Id >= 0 && f.Id < weights.Length ? weights[f.Id] : 0 }).ToList(),
    };

    public static FeatureCatalog Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Probe folder is missing '{path}'.");
        try { return JsonSerializer.Deserialize<FeatureCatalog>(File.ReadAllText(path), JsonDefaults.Pretty) ?? new(); }
        catch (JsonException e) { throw new UserError($"'{path}' is not a valid features file: {e.Message}"); }
    }

    /// <param name="f">Pooled SAE features of every prompt, with the token positions they came from.</param>
    /// <param name="prompts">The labelled prompts, in the rows' order.</param>
    /// <param name="tokenText">Token id → text.</param>
    /// <param name="decision">The probe whose <see cref="FeatureWeights">weights</see> are recorded as "weight".</param>
    /// <param name="probes">Every fitted probe, by kind.</param>
    /// <param name="hybrid">The hybrid's explainer (per-feature contributions).</param>
    /// <param name="maxExplained">Features explained, strongest weights first.</param>
    /// <param name="examples">Example contexts kept per feature.</param>
    public static FeatureCatalog Build(PromptFeatures f, IReadOnlyList<LabelledPrompt> prompts, Func<int, string> tokenText,
        IReadOnlyDictionary<string, LinearProbe> probes, HybridExplainer hybrid, string decision, int maxExplained = 64, int examples = 6)
    {
        var sae = probes[ProbeKinds.Sae];
        var topk = probes[ProbeKinds.SaeTopK];
        var saeW = FeatureWeights.Of(probes, hybrid, ProbeKinds.Sae);
        var topkW = FeatureWeights.Of(probes, hybrid, ProbeKinds.SaeTopK);
        var stats = f.Stats ?? throw new InvalidOperationException("Feature statistics were not collected.");
        var features = Enumerable.Range(0, f.M).Select(j => new FeatureInfo
        {
            Id = j,
            FiringRate = Math.Round(stats.FiringRate(j), 6),
            Label = LabelOf(stats.Top(j).Select(h => tokenText(h.TokenId))),
            MeanWhenActive = stats.MeanWhenActive(j),
            MaxActivation = stats.MaxActivation(j),
            Histogram = stats.Fires(j) == 0 ? null : new ActivationHistogram(stats.Histogram(j).Edges, stats.Histogram(j).Counts),
            Contexts = stats.Fires(j) == 0 ? null : Contexts(stats.Top(j), f.TokenIds, tokenText),
        }).ToList();
        var chosen = Enumerable.Range(0, f.M).Where(j => sae.W[j] != 0).OrderByDescending(j => Math.Abs(sae.W[j]))
            .Concat(Enumerable.Range(0, f.M).Where(j => topk.W[j] != 0 && sae.W[j] == 0).OrderByDescending(j => Math.Abs(topk.W[j])))
            .Take(maxExplained).ToList();
        var explained = new List<FeatureExplanation>();
        foreach (var j in chosen)
        {
            double sumH = 0, sumB = 0;
            int nH = 0, nB = 0;
            for (int p = 0; p < f.Count; p++)
            {
                float v = f.Codes[p * f.M + j];
                if (prompts[p].Label == 1) { sumH += v; nH++; } else { sumB += v; nB++; }
            }
            var topPrompts = Enumerable.Range(0, f.Count).Where(p => f.Codes[p * f.M + j] > 0)
                .OrderByDescending(p => f.Codes[p * f.M + j]).ThenBy(p => p).Take(examples)
                .Select(p => new PromptExample(Clip(prompts[p].Text, 300), f.Codes[p * f.M + j], LabelledSet.LabelName(prompts[p].Label), prompts[p].Source))
                .ToList();
            var topTokens = stats.Top(j).Take(examples).Select(h =>
            {
                var ids = f.TokenIds[h.Prompt];
                var before = ids[Math.Max(0, h.Position - 8)..h.Position].Select(tokenText);
                var after = ids[Math.Min(ids.Length, h.Position + 1)..Math.Min(ids.Length, h.Position + 6)].Select(tokenText);
                var hit = tokenText(h.TokenId);
                var pre = TokenJoin.Join(before) + (hit.StartsWith("##") || h.Position == 0 ? "" : " ");
                return new TokenExample(Clean(hit), h.Value, pre, TokenJoin.Join(after, continuing: true), prompts[h.Prompt].Source);
            }).ToList();
            explained.Add(new FeatureExplanation
            {
                Id = j, FiringRate = features[j].FiringRate, Label = features[j].Label,
                SaeWeight = saeW[j], SaeTopKWeight = topkW[j], DenseProjection = hybrid.Projection[j],
                MeanHarmful = nH == 0 ? 0 : sumH / nH, MeanBenign = nB == 0 ? 0 : sumB / nB,
                TopTokens = topTokens, TopPrompts = topPrompts,
            });
        }
        return new FeatureCatalog { Features = features, Explained = explained }.WithWeights(FeatureWeights.Of(probes, hybrid, decision));
    }

    static List<TokenContext> Contexts(TokenHit[] top, int[][] tokenIds, Func<int, string> tokenText) =>
        top.DistinctBy(h => h.Prompt).Select(h =>
        {
            var ids = tokenIds[h.Prompt];
            int start = Math.Max(0, h.Position - ContextWindow), end = Math.Min(ids.Length, h.Position + ContextWindow + 1);
            return new TokenContext(h.Prompt, ids[start..end].Select(tokenText).ToList(), h.Position - start, h.Value);
        }).ToList();

    /// <summary>Up to four distinct cleaned tokens, strongest first (the analysis report's labels, <see cref="Analysis.FeatureLabels"/>).</summary>
    public static string LabelOf(IEnumerable<string> tokens) => Analysis.FeatureLabels.LabelOf(tokens);

    /// <summary>A token's text without WordPiece/SentencePiece/BPE word markers.</summary>
    public static string Clean(string token) => Analysis.FeatureLabels.Clean(token);

    static string Clip(string s, int n) => s.Length <= n ? s : s[..n] + "…";
}
