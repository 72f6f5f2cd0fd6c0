using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

internal static class HeldOutSets
{
    public static HeldOutSet Load(HeldOutSpec spec, IReadOnlyList<LabelRule> rules, DumpMeta training, SaeModel sae, Pooling pooling, Func<TextFeaturizer> openModel)
    {
        var name = System.IO.Path.GetFileName(spec.Path.TrimEnd('/', '\\'));
        if (Directory.Exists(spec.Path))
        {
            var dump = ActivationDump.Open(spec.Path);
            CheckSameActivations(training, dump.Meta, spec.Path);
            var counts = LabelledSet.NonSpecialTokenCounts(dump);
            var docs = dump.Docs.Where(d => d.Id < counts.Length && counts[d.Id] > 0).ToList();
            if (docs.Count == 0) throw new UserError($"Held-out set '{spec.Path}' has no documents with tokens.");
            var prompts = docs.Select(d => ToPrompt(d, rules)).ToList();
            var f = DumpFeaturizer.Run(new[] { dump }, docs.Select(d => (0, d.Id)).ToList(), sae, pooling, topTokens: 0, label: "test " + name);
            return new HeldOutSet(name, spec.Path, prompts, f);
        }
        var read = CorpusReader.Read(spec.Path, spec.Read).ToList();
        var texts = read.Select(d => d.Text).ToList();
        var featurizer = openModel();
        using var bar = new ProgressBar("test " + name, texts.Count, "tok");
        var feats = featurizer.Run(texts, bar: bar);
        return new HeldOutSet(name, spec.Path, read.Select(d => ToPrompt(d, rules)).ToList(), feats);
    }

    static HeldOutPrompt ToPrompt(DocRecord d, IReadOnlyList<LabelRule> rules)
    {
        var (label, category) = LabelRules.Apply(rules, d);
        return new HeldOutPrompt(d.Text, label == null ? null : Labels.ToInt(label), category, d.Source);
    }

    /// <summary>Activations from another model, layer or width cannot be scored by this probe.</summary>
    public static void CheckSameActivations(DumpMeta a, DumpMeta b, string bPath)
    {
        if (b.Kind != "activations" || b.Layout != "dense")
            throw new UserError($"'{bPath}' is a {b.Kind} dump ({b.Layout}); probe needs raw activations (the output of 'saeguard extract').");
        if (a.D != b.D || a.Layer != b.Layer || a.Model != b.Model || a.Hook != b.Hook)
            throw new UserError($"'{bPath}' holds {b.Model} layer {b.Layer} {b.Hook} (d = {b.D}), but the other activations are {a.Model} layer {a.Layer} {a.Hook} (d = {a.D}); all must come from the same model and layer.");
    }

    /// <summary>Scores of the held-out prompts by each final probe.</summary>
    public static HeldOutResult Evaluate(HeldOutSet set, IReadOnlyDictionary<string, LinearProbe> probes, IReadOnlyDictionary<string, double> thresholds)
    {
        var labelled = Enumerable.Range(0, set.Prompts.Count).Where(i => set.Prompts[i].Label != null).ToArray();
        var labels = labelled.Select(i => set.Prompts[i].Label!.Value).ToArray();
        int nH = labels.Count(l => l == 1), nB = labels.Length - nH;
        var result = new Dictionary<string, HeldOutProbeResult>();
        foreach (var kind in ProbeKinds.All)
        {
            var scores = ProbeScoring.ScoreAll(kind, probes, set.Features);
            double t = thresholds[kind];
            var ls = labelled.Select(i => scores[i]).ToArray();
            var hs = labelled.Where(i => set.Prompts[i].Label == 1).Select(i => scores[i]).ToArray();
            var bs = labelled.Where(i => set.Prompts[i].Label == 0).Select(i => scores[i]).ToArray();
            bool both = nH > 0 && nB > 0;
            result[kind] = new HeldOutProbeResult
            {
                Auroc = both ? BinaryMetrics.Auroc(ls, labels) : null,
                Auprc = both ? BinaryMetrics.Auprc(ls, labels) : null,
                TprAt1PctFpr = both ? BinaryMetrics.TprAtFpr(ls, labels, 0.01) : null,
                Accuracy = labels.Length > 0 ? BinaryMetrics.Accuracy(ls, labels, 0.5) : null,
                F1 = nH > 0 ? BinaryMetrics.F1(ls, labels, 0.5) : null,
                RecallAtThreshold = nH > 0 ? BinaryMetrics.FlagRate(hs, t) : null,
                FprAtThreshold = nB > 0 ? BinaryMetrics.FlagRate(bs, t) : null,
                Recall = nH > 0 ? BinaryMetrics.FlagRate(hs, 0.5) : null,
                Fpr = nB > 0 ? BinaryMetrics.FlagRate(bs, 0.5) : null,
                FlagRateAtThreshold = BinaryMetrics.FlagRate(scores, t),
                MeanScore = scores.Average(),
                PerCategoryRecall = ProbeScoring.PerCategory(set.Prompts.Select(p => (p.Label ?? -1, p.Category)).ToList(), scores, 1, t),
            };
        }
        return new HeldOutResult
        {
            Name = set.Name, Path = set.Path, N = set.Prompts.Count, NHarmful = nH, NBenign = nB,
            NUnlabelled = set.Prompts.Count - labelled.Length, Probes = result,
        };
    }
}
