namespace SaeGuard.Probes;

internal static class ProbeScoring
{
    /// <summary>Scores of every prompt by the probe of this kind (hybrid = the dense probe's score).</summary>
    public static double[] ScoreAll(string kind, IReadOnlyDictionary<string, LinearProbe> probes, PromptFeatures f)
    {
        bool dense = kind is ProbeKinds.Dense or ProbeKinds.Hybrid;
        var probe = probes[dense ? ProbeKinds.Dense : kind];
        return probe.ScoreRows(dense ? f.Dense : f.Codes, Enumerable.Range(0, f.Count).ToArray());
    }

    /// <summary>Per category of the prompts with this label: the fraction scored ≥ 0.5 and ≥ threshold.</summary>
    public static Dictionary<string, CategoryRate>? PerCategory(IReadOnlyList<(int Label, string? Category)> prompts, double[] scores, int label, double threshold)
    {
        var groups = Enumerable.Range(0, prompts.Count)
            .Where(i => prompts[i].Label == label && !string.IsNullOrWhiteSpace(prompts[i].Category))
            .GroupBy(i => prompts[i].Category!).OrderBy(g => g.Key).ToList();
        if (groups.Count == 0) return null;
        return groups.ToDictionary(g => g.Key, g =>
        {
            var s = g.Select(i => scores[i]).ToArray();
            return new CategoryRate { N = s.Length, Rate = BinaryMetrics.FlagRate(s, 0.5), RateAtThreshold = BinaryMetrics.FlagRate(s, threshold) };
        });
    }
}
