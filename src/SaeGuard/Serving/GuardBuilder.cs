using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Probes;
using SaeGuard.Sae;

namespace SaeGuard.Serving;

public sealed record GuardBuildOptions
{
    public string Pooling { get; init; } = "mean";
    public double Threshold { get; init; } = 0.5;
    public double L2 { get; init; } = 1e-2;
    public int Iterations { get; init; } = 400;
    public int TopFeatures { get; init; } = 8;
    public int BatchSize { get; init; } = 32;
}

/// <summary>A fitted guard: the scorer, the catalog of its features, and held-out metrics.</summary>
public sealed record BuiltGuard(SaeGuardScorer Scorer, FeatureCatalog Catalog, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// Fits a <see cref="SaeGuardScorer"/> on labelled documents: activations of the training
/// documents → an SAE (given, or made from those activations) → pooled codes → logistic head;
/// the feature catalog is measured on the training documents and the metrics on the held-out ones.
/// </summary>
public static class GuardBuilder
{
    public static BuiltGuard Build(IActivationSource source, IReadOnlyList<DocRecord> train, IReadOnlyList<DocRecord> heldOut,
        Func<IReadOnlyList<(TokenizedText Tokens, float[] Acts)>, SaeModel> makeSae, GuardBuildOptions? options = null)
    {
        options ??= new GuardBuildOptions();
        var labels = train.Select(d => d.Label == GuardLabels.Harmful).ToArray();
        if (labels.All(l => l) || labels.All(l => !l))
            throw new ArgumentException("training documents need both harmful and benign labels.");
        var acts = TextFeatures.Activations(source, train.Select(d => d.Text).ToList(), options.BatchSize);
        var sae = makeSae(acts);
        TextFeatures.CheckCompatible(source, sae);
        var codes = TextFeatures.Encode(sae, acts);
        var pooled = codes.Select(c => TextFeatures.Pool(c, options.Pooling)).ToList();
        var (weights, bias) = LogisticFit.Fit(pooled, labels, options.L2, options.Iterations);
        var head = new LinearHead(weights, bias, options.Threshold, options.Pooling);

        var catalog = new FeatureCatalogBuilder().Build(codes, source.TokenText, weights);
        var trainScores = pooled.Select(p => LogisticRegression.Sigmoid(head.Logit(p))).ToArray();
        var metrics = new Dictionary<string, double>
        {
            ["n_train"] = train.Count,
            ["train_accuracy"] = BinaryMetrics.Accuracy(trainScores, labels.Select(l => l ? 1 : 0).ToArray(), head.Threshold),
        };
        var scorer = new SaeGuardScorer(source, sae, head, metrics, catalog.LabelOf, options.TopFeatures, options.BatchSize);
        if (heldOut.Count > 0)
        {
            var truth = heldOut.Select(d => d.Label == GuardLabels.Harmful ? 1 : 0).ToArray();
            var scores = scorer.Score(heldOut.Select(d => d.Text).ToList()).Select(v => v.Score).ToArray();
            metrics["n_heldout"] = heldOut.Count;
            metrics["auroc"] = BinaryMetrics.Auroc(scores, truth);
            metrics["accuracy"] = BinaryMetrics.Accuracy(scores, truth, head.Threshold);
        }
        return new BuiltGuard(scorer, catalog, metrics);
    }

    /// <summary>All non-special token rows of <paramref name="acts"/>, stacked [rows, width].</summary>
    public static (float[] Rows, int N) TokenRows(IReadOnlyList<(TokenizedText Tokens, float[] Acts)> acts, int width)
    {
        int n = acts.Sum(a => a.Tokens.IsSpecial.Count(s => !s));
        var rows = new float[n * width];
        int r = 0;
        foreach (var (tok, a) in acts)
            for (int t = 0; t < tok.Length; t++)
                if (!tok.IsSpecial[t]) a.AsSpan(t * width, width).CopyTo(rows.AsSpan(r++ * width, width));
        return (rows, n);
    }
}
