using System.Text;
using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Probes;

/// <summary>A token where a feature fired, with a few tokens of context either side.</summary>
public sealed record TokenExample(string Token, float Value, string Before, string After, string Source);

/// <summary>A prompt with a high pooled value of a feature.</summary>
public sealed record PromptExample(string Text, float Value, string Label, string Source);

/// <summary>A token where a feature fired: up to <see cref="FeatureCatalog.ContextWindow"/> tokens either side, Tokens[Index] fired.</summary>
public sealed record TokenContext(int Prompt, List<string> Tokens, int Index, float Value);

/// <summary>Non-zero values of a feature in bins: Counts[i] in [Edges[i], Edges[i+1]).</summary>
public sealed record ActivationHistogram(double[] Edges, long[] Counts);

/// <summary>Short facts on every SAE feature: how often and how strongly it fires, and where.</summary>
public sealed record FeatureInfo
{
    public int Id { get; init; }
    public double FiringRate { get; init; }
    /// <summary>Its top tokens joined, e.g. "bomb, explosives, detonate".</summary>
    public string Label { get; init; } = "";
    public double MeanWhenActive { get; init; }
    public double MaxActivation { get; init; }
    /// <summary>Power-of-two bins of its non-zero values (null in folders written before it was added).</summary>
    public ActivationHistogram? Histogram { get; init; }
    /// <summary>Its strongest tokens in context, strongest first, at most one per prompt.</summary>
    public List<TokenContext>? Contexts { get; init; }
}

/// <summary>A feature the probes rely on: its weights, class means and top tokens and prompts.</summary>
public sealed record FeatureExplanation
{
    public int Id { get; init; }
    public double FiringRate { get; init; }
    public string Label { get; init; } = "";
    /// <summary>Weight in the L1 SAE probe (standardised units; 0 = unused).</summary>
    public double SaeWeight { get; init; }
    public double SaeTopKWeight { get; init; }
    /// <summary>v·dⱼ: the dense direction projected on the feature's decoder row.</summary>
    public double DenseProjection { get; init; }
    public double MeanHarmful { get; init; }
    public double MeanBenign { get; init; }
    public List<TokenExample> TopTokens { get; init; } = new();
    public List<PromptExample> TopPrompts { get; init; } = new();
}

/// <summary>features.json of a probe folder.</summary>
public sealed record FeatureCatalog
{
    public List<FeatureInfo> Features { get; init; } = new();
    /// <summary>The SAE probe's features by |weight|, then the top-k probe's remaining ones.</summary>
    public List<FeatureExplanation> Explained { get; init; } = new();

    /// <summary>Tokens kept on each side of a context's firing token.</summary>
    public const int ContextWindow = 5;

    public static FeatureCatalog Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Probe folder is missing '{path}'.");
        try { return JsonSerializer.Deserialize<FeatureCatalog>(File.ReadAllText(path), JsonDefaults.Pretty) ?? new(); }
        catch (JsonException e) { throw new UserError($"'{path}' is not a valid features file: {e.Message}"); }
    }

    /// <param name="tokenText">Token id → text.</param>
    public static FeatureCatalog Build(PromptFeatures f, IReadOnlyList<LabelledPrompt> prompts, Func<int, string> tokenText,
        LinearProbe sae, LinearProbe topk, HybridExplainer hybrid, int maxExplained = 64, int examples = 6)
    {
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
                SaeWeight = sae.W[j], SaeTopKWeight = topk.W[j], DenseProjection = hybrid.Projection[j],
                MeanHarmful = nH == 0 ? 0 : sumH / nH, MeanBenign = nB == 0 ? 0 : sumB / nB,
                TopTokens = topTokens, TopPrompts = topPrompts,
            });
        }
        return new FeatureCatalog { Features = features, Explained = explained };
    }

    static List<TokenContext> Contexts(TokenHit[] top, int[][] tokenIds, Func<int, string> tokenText) =>
        top.DistinctBy(h => h.Prompt).Select(h =>
        {
            var ids = tokenIds[h.Prompt];
            int start = Math.Max(0, h.Position - ContextWindow), end = Math.Min(ids.Length, h.Position + ContextWindow + 1);
            return new TokenContext(h.Prompt, ids[start..end].Select(tokenText).ToList(), h.Position - start, h.Value);
        }).ToList();

    /// <summary>Up to four distinct cleaned tokens, strongest first.</summary>
    public static string LabelOf(IEnumerable<string> tokens) =>
        string.Join(", ", tokens.Select(Clean).Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).Take(4));

    /// <summary>A token's text without WordPiece/SentencePiece/BPE word markers.</summary>
    public static string Clean(string token) =>
        token.StartsWith("##") ? token[2..] : token.Replace('▁', ' ').Replace('Ġ', ' ').Trim();

    static string Clip(string s, int n) => s.Length <= n ? s : s[..n] + "…";
}

/// <summary>Joins tokens back into readable text (WordPiece "##" pieces glue to the previous token).</summary>
public static class TokenJoin
{
    public static string Join(IEnumerable<string> tokens, bool continuing = false)
    {
        var sb = new StringBuilder();
        bool first = true;
        foreach (var t in tokens)
        {
            if (t.StartsWith("##")) sb.Append(t, 2, t.Length - 2);
            else if (t.StartsWith('▁') || t.StartsWith('Ġ')) sb.Append(' ').Append(t, 1, t.Length - 1);
            else
            {
                if (!first || continuing) sb.Append(' ');
                sb.Append(t);
            }
            first = false;
        }
        return sb.ToString();
    }
}
