using System.Text.Json.Serialization;

namespace SaeGuard.Probes;

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
