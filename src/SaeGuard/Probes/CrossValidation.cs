using System.Text.Json.Serialization;
using SaeGuard.Common;

namespace SaeGuard.Probes;

/// <summary>The probes SaeGuard trains and compares.</summary>
public static class ProbeKinds
{
    /// <summary>L1 logistic regression on pooled SAE codes (at most <see cref="ProbeSettings.MaxSaeFeatures"/> features).</summary>
    public const string Sae = "sae";
    /// <summary>k SAE features by class-mean difference, then L2 logistic regression.</summary>
    public const string SaeTopK = "sae_topk";
    /// <summary>L2 logistic regression on pooled raw activations.</summary>
    public const string Dense = "dense";
    /// <summary>The dense probe's decision, explained on SAE features.</summary>
    public const string Hybrid = "hybrid";

    public static readonly string[] All = { Sae, SaeTopK, Dense, Hybrid };
    public static readonly string[] Fitted = { Sae, SaeTopK, Dense };

    public static string Parse(string s)
    {
        var k = s.Trim().ToLowerInvariant().Replace('-', '_');
        if (k == "topk") k = SaeTopK;
        return All.Contains(k) ? k : throw new UserError($"Unknown probe '{s}': expected {string.Join(", ", All)}.");
    }
}

public sealed record ProbeSettings
{
    /// <summary>Feature budget of the L1 SAE probe.</summary>
    public int MaxSaeFeatures { get; init; } = 64;
    /// <summary>Largest C the L1 path may reach.</summary>
    public double SaeCMax { get; init; } = 1.0;
    public int TopK { get; init; } = 64;
    public double TopKC { get; init; } = 1.0;
    public double DenseC { get; init; } = 1.0;
}

/// <summary>One fold's test-set metrics for one probe (threshold 0.5 for accuracy and F1).</summary>
public sealed record FoldMetrics
{
    public double Auroc { get; init; }
    public double Auprc { get; init; }
    public double Accuracy { get; init; }
    public double F1 { get; init; }
    [JsonPropertyName("tpr_at_1pct_fpr")] public double TprAt1PctFpr { get; init; }
    public int NFeaturesUsed { get; init; }
    public int NTest { get; init; }

    public static FoldMetrics Of(double[] scores, int[] labels, int featuresUsed) => new()
    {
        Auroc = BinaryMetrics.Auroc(scores, labels),
        Auprc = BinaryMetrics.Auprc(scores, labels),
        Accuracy = BinaryMetrics.Accuracy(scores, labels, 0.5),
        F1 = BinaryMetrics.F1(scores, labels, 0.5),
        TprAt1PctFpr = BinaryMetrics.TprAtFpr(scores, labels, 0.01),
        NFeaturesUsed = featuresUsed,
        NTest = scores.Length,
    };
}

public sealed class CrossValidationResult
{
    /// <summary>Fold of each prompt.</summary>
    public required int[] Fold { get; init; }
    /// <summary>Per probe kind, each prompt's score from the fold model that did not see it.</summary>
    public required Dictionary<string, double[]> OutOfFold { get; init; }
    public required Dictionary<string, List<FoldMetrics>> PerFold { get; init; }
    /// <summary>Per fold, the fitted probes (for inspection; each fitted on that fold's training rows).</summary>
    public required List<Dictionary<string, LinearProbe>> Probes { get; init; }
}

/// <summary>Stratified k-fold cross-validation of the SAE, top-k SAE, dense and hybrid probes.</summary>
public static class CrossValidation
{
    /// <summary>Fold of each item: each class shuffled (seeded) and dealt round-robin into k folds.</summary>
    public static int[] StratifiedFolds(int[] labels, int k, int seed)
    {
        var fold = new int[labels.Length];
        var rng = new Random(seed);
        foreach (var cls in new[] { 1, 0 })
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == cls).ToArray();
            rng.Shuffle(idx);
            for (int i = 0; i < idx.Length; i++) fold[idx[i]] = i % k;
        }
        return fold;
    }

    public static CrossValidationResult Run(float[] dense, int d, float[] codes, int m, int[] labels, int folds, int seed, ProbeSettings settings, Action<int>? foldDone = null)
    {
        int n = labels.Length;
        var fold = StratifiedFolds(labels, folds, seed);
        var oof = ProbeKinds.All.ToDictionary(k => k, _ => new double[n]);
        var perFold = ProbeKinds.All.ToDictionary(k => k, _ => new List<FoldMetrics>());
        var probes = new List<Dictionary<string, LinearProbe>>();
        for (int f = 0; f < folds; f++)
        {
            var train = Enumerable.Range(0, n).Where(i => fold[i] != f).ToArray();
            var test = Enumerable.Range(0, n).Where(i => fold[i] == f).ToArray();
            var fitted = FitAll(dense, d, codes, m, train, labels, settings);
            probes.Add(fitted);
            var testLabels = test.Select(i => labels[i]).ToArray();
            foreach (var kind in ProbeKinds.All)
            {
                var (probe, x) = kind == ProbeKinds.Hybrid ? (fitted[ProbeKinds.Dense], dense) : (fitted[kind], kind == ProbeKinds.Dense ? dense : codes);
                var scores = probe.ScoreRows(x, test);
                for (int i = 0; i < test.Length; i++) oof[kind][test[i]] = scores[i];
                perFold[kind].Add(FoldMetrics.Of(scores, testLabels, probe.FeaturesUsed));
            }
            foldDone?.Invoke(f);
        }
        return new CrossValidationResult { Fold = fold, OutOfFold = oof, PerFold = perFold, Probes = probes };
    }

    /// <summary>Fits the three probes on the given training rows.</summary>
    public static Dictionary<string, LinearProbe> FitAll(float[] dense, int d, float[] codes, int m, IReadOnlyList<int> train, int[] labels, ProbeSettings s)
    {
        LinearProbe? sae = null, topk = null, dn = null;
        Parallel.Invoke(
            () => sae = ProbeFitting.FitL1Capped(codes, m, train, labels, s.MaxSaeFeatures, s.SaeCMax),
            () => topk = ProbeFitting.FitTopK(codes, m, train, labels, s.TopK, s.TopKC),
            () => dn = ProbeFitting.FitL2(dense, d, train, labels, s.DenseC));
        return new Dictionary<string, LinearProbe> { [ProbeKinds.Sae] = sae!, [ProbeKinds.SaeTopK] = topk!, [ProbeKinds.Dense] = dn! };
    }
}
