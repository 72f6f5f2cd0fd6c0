using System.Diagnostics;
using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Models;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>
/// The <c>probe</c> stage: labelled prompts from activation dumps → pooled activations and SAE
/// codes → stratified k-fold comparison of the SAE, top-k SAE, dense and hybrid probes → final
/// probes fitted on all prompts → a self-contained probe folder.
/// </summary>
public static class ProbeTrainer
{
    public static ProbeMetricsFile Run(ProbeOptions o, Action<string>? log = null)
    {
        log ??= s => Console.Error.WriteLine(s);
        var sw = Stopwatch.StartNew();
        var inputs = OpenInputs(o, log);
        var (prompts, selection, nPer) = SelectPrompts(o, inputs, log);
        var features = DumpFeaturizer.Run(inputs.Dumps, prompts.Select(p => (p.Dump, p.DocId)).ToList(), inputs.Sae, o.Pooling, o.TopTokens);
        var labels = prompts.Select(p => p.Label).ToArray();
        var (cv, final) = CrossValidateAndFit(o, features, labels);
        var hybrid = new HybridExplainer(final[ProbeKinds.Dense], inputs.Sae);
        var thresholds = ProbeKinds.All.ToDictionary(k => k, k => BinaryMetrics.ThresholdForTpr(cv.OutOfFold[k], labels, o.TargetTpr));
        var summaries = ProbeKinds.All.ToDictionary(k => k, k => Summarize(k, cv, final, labels, prompts, thresholds[k], hybrid, features));
        var model = ModelForManifest(inputs.Meta, o.Model);
        var tests = EvaluateHeldOut(o, inputs, model, final, thresholds);
        var catalog = FeatureCatalog.Build(features, prompts, inputs.Dumps[0].TokenText, final, hybrid, inputs.Decision);
        var metrics = new ProbeMetricsFile
        {
            NPerClass = nPer, Folds = o.Folds, Pooling = o.Pooling.Name(), Seed = o.Seed,
            Model = inputs.Meta.Model, Layer = inputs.Meta.Layer, D = inputs.Meta.D, SaePath = Path.GetFullPath(o.Sae), DSae = inputs.Sae.DSae,
            Decision = inputs.Decision, ThresholdTargetTpr = o.TargetTpr, Selection = selection, Settings = o.Settings,
            Sae = summaries[ProbeKinds.Sae], SaeTopk = summaries[ProbeKinds.SaeTopK],
            Dense = summaries[ProbeKinds.Dense], Hybrid = summaries[ProbeKinds.Hybrid],
            Test = tests, Seconds = Math.Round(sw.Elapsed.TotalSeconds, 2),
        };
        var manifest = Manifest(o, inputs, model, summaries, thresholds, nPer);
        WriteFolder(o.Out, metrics, manifest, final, catalog, prompts, cv, features, labels, inputs.Sae);
        return metrics;
    }

    /// <summary>The dumps, their shared meta, the SAE and the rules, checked against each other.</summary>
    sealed record Inputs(List<ActivationDump> Dumps, DumpMeta Meta, SaeModel Sae, IReadOnlyList<LabelRule> Rules, string Decision);

    static Inputs OpenInputs(ProbeOptions o, Action<string> log)
    {
        if (o.Acts.Count == 0) throw new UserError("probe needs at least one --acts folder.");
        if (o.Folds < 2) throw new UserError($"--folds must be at least 2, got {o.Folds}.");
        if (o.TargetTpr is <= 0 or > 1) throw new UserError($"The threshold's target TPR must be in (0, 1], got {o.TargetTpr}.");
        var decision = ProbeKinds.Parse(o.Decision);
        var rules = LabelRules.Parse(o.Labels);
        var dumps = o.Acts.Select(a => ActivationDump.Open(a)).ToList();
        var meta = dumps[0].Meta;
        for (int i = 0; i < dumps.Count; i++) HeldOutSets.CheckSameActivations(meta, dumps[i].Meta, o.Acts[i]);
        var sae = SaeLensFormat.Load(o.Sae);
        if (sae.DIn != meta.D)
            throw new UserError($"SAE '{o.Sae}' has d_in = {sae.DIn}, but the activations in '{o.Acts[0]}' have d = {meta.D} ({meta.Model} layer {meta.Layer}); use an SAE trained on this model and layer.");
        var sm = sae.Config.Metadata;
        if (sm.Layer != meta.Layer && !string.IsNullOrEmpty(sm.ModelName))
            log($"warning: SAE '{o.Sae}' was trained on layer {sm.Layer} of {sm.ModelName}; the activations are layer {meta.Layer} of {meta.Model}.");
        return new Inputs(dumps, meta, sae, rules, decision);
    }

    /// <summary>Labelled, balanced (optionally length-matched) prompts.</summary>
    static (List<LabelledPrompt> Prompts, SelectionReport Selection, int NPerClass) SelectPrompts(ProbeOptions o, Inputs inputs, Action<string> log)
    {
        var all = LabelledSet.Collect(inputs.Dumps, inputs.Rules, out int unlabelled, out int empty);
        int h = all.Count(p => p.Label == 1), b = all.Count - h;
        if (h == 0 || b == 0)
            throw new UserError($"probe needs harmful and benign prompts, but the activations hold {h} harmful and {b} benign ({unlabelled} unlabelled). Labels come from the 'label' of docs.jsonl (extract --label / --label-column) or from --labels SOURCE=harmful|benign.");
        var (prompts, selection) = LabelledSet.Select(all, new SelectionOptions { MatchLength = o.MatchLength, MaxPerClass = o.MaxPerClass, Seed = o.Seed }, unlabelled, empty);
        int nPer = Math.Min(selection.HarmfulUsed, selection.BenignUsed);
        if (nPer < o.Folds)
            throw new UserError($"Only {selection.HarmfulUsed} harmful and {selection.BenignUsed} benign prompts are left after balancing{(o.MatchLength ? " and length matching" : "")}; each class needs at least --folds = {o.Folds}.");
        log($"probe: {selection.HarmfulUsed} harmful + {selection.BenignUsed} benign prompts (of {h} + {b}; {unlabelled} unlabelled), median tokens {selection.MedianTokensHarmful} vs {selection.MedianTokensBenign}, length-only AUROC {selection.LengthAuroc:F3}");
        return (prompts, selection, nPer);
    }

    /// <summary>Stratified k-fold cross-validation, then the final probes on all prompts.</summary>
    static (CrossValidationResult Cv, Dictionary<string, LinearProbe> Final) CrossValidateAndFit(ProbeOptions o, PromptFeatures features, int[] labels)
    {
        using var bar = new ProgressBar("cv", o.Folds + 1, "folds");
        var cv = CrossValidation.Run(features.Dense, features.D, features.Codes, features.M, labels, o.Folds, o.Seed, o.Settings, _ => bar.Advance(1));
        var final = CrossValidation.FitAll(features.Dense, features.D, features.Codes, features.M, Enumerable.Range(0, labels.Length).ToArray(), labels, o.Settings);
        bar.Advance(1);
        return (cv, final);
    }

    /// <summary>The final probes on each --test set (a dump, or a text file run through the model, opened once).</summary>
    static List<HeldOutResult> EvaluateHeldOut(ProbeOptions o, Inputs inputs, string model, Dictionary<string, LinearProbe> final, Dictionary<string, double> thresholds)
    {
        TextFeaturizer? featurizer = null;
        var tests = new List<HeldOutResult>();
        try
        {
            foreach (var spec in o.Tests)
            {
                var set = HeldOutSets.Load(spec, inputs.Rules, inputs.Meta, inputs.Sae, o.Pooling,
                    () => featurizer ??= new TextFeaturizer(ProbeSource.Open(o.Models, model, inputs.Meta), inputs.Sae, o.Pooling, inputs.Meta.Dtype == "f16"));
                tests.Add(HeldOutSets.Evaluate(set, final, thresholds));
            }
        }
        finally { featurizer?.Source.Dispose(); }
        return tests;
    }

    static ProbeManifest Manifest(ProbeOptions o, Inputs inputs, string model, Dictionary<string, ProbeSummary> summaries, Dictionary<string, double> thresholds, int nPer)
    {
        var meta = inputs.Meta;
        return new ProbeManifest
        {
            Model = model, ModelName = meta.Model, ModelSha256 = meta.ModelSha256, Layer = meta.Layer, Hook = meta.Hook,
            HookTensor = meta.Extra?.GetValueOrDefault("hook_tensor"),
            MaxLength = meta.MaxLength, ActsDtype = meta.Dtype, D = meta.D, Pooling = o.Pooling.Name(),
            DSae = inputs.Sae.DSae, SaeArchitecture = inputs.Sae.Config.Architecture, Decision = inputs.Decision,
            Probes = ProbeKinds.All.ToDictionary(k => k, k => new ProbeEntry
            {
                Description = summaries[k].Description, Threshold = thresholds[k], ThresholdTargetTpr = o.TargetTpr,
                ThresholdOofTpr = summaries[k].ThresholdOofTpr, ThresholdOofFpr = summaries[k].ThresholdOofFpr,
                NFeaturesUsed = summaries[k].NFeaturesUsed, C = summaries[k].C, CvAuroc = summaries[k].Auroc,
            }),
            NPerClass = nPer, Folds = o.Folds, Seed = o.Seed, LengthMatched = o.MatchLength, Labels = o.Labels,
            Acts = o.Acts.Select(Path.GetFullPath).ToList(),
        };
    }

    /// <summary>Writes the probe folder atomically (nothing appears unless every file is written).</summary>
    static void WriteFolder(string dir, ProbeMetricsFile metrics, ProbeManifest manifest, Dictionary<string, LinearProbe> final, FeatureCatalog catalog,
        IReadOnlyList<LabelledPrompt> prompts, CrossValidationResult cv, PromptFeatures features, int[] labels, SaeModel sae)
    {
        using var outDir = new AtomicDirectory(dir);
        AtomicFile.WriteAllText(outDir.File("metrics.json"), JsonSerializer.Serialize(metrics, JsonDefaults.Pretty));
        AtomicFile.WriteAllText(outDir.File(ProbeManifest.FileName), JsonSerializer.Serialize(manifest, JsonDefaults.Pretty));
        ProbeWeights.Write(outDir.File(ProbeManifest.WeightsFile), final);
        AtomicFile.WriteAllText(outDir.File(ProbeManifest.FeaturesFile), JsonSerializer.Serialize(catalog, JsonDefaults.Pretty));
        WriteScores(outDir.File("scores.jsonl"), prompts, cv, final, features);
        Directory.CreateDirectory(outDir.File(ProbeManifest.SaeFolder));
        SaeLensFormat.WriteInto(sae, outDir.File(ProbeManifest.SaeFolder));
        File.WriteAllText(outDir.File("report.html"), ProbeReport.Render(metrics, cv, labels, catalog));
        outDir.Commit();
    }

    static ProbeSummary Summarize(string kind, CrossValidationResult cv, Dictionary<string, LinearProbe> final, int[] labels,
        IReadOnlyList<LabelledPrompt> prompts, double threshold, HybridExplainer hybrid, PromptFeatures features)
    {
        var folds = cv.PerFold[kind];
        var oof = cv.OutOfFold[kind];
        var finalProbe = final[kind == ProbeKinds.Hybrid ? ProbeKinds.Dense : kind];
        var cats = prompts.Select(p => (p.Label, p.Category)).ToList();
        (double Top, double Res)? faith = kind == ProbeKinds.Hybrid ? hybrid.Faithfulness(features, Enumerable.Range(0, features.Count).ToArray()) : null;
        return new ProbeSummary
        {
            Description = kind switch
            {
                ProbeKinds.Sae => "L1 logistic regression on standardised pooled SAE codes; C = the largest on a path (≤ c_max) keeping at most max_sae_features features",
                ProbeKinds.SaeTopK => "top-k SAE features by standardised class-mean difference (training fold only), then L2 logistic regression",
                ProbeKinds.Dense => "L2 logistic regression on standardised pooled raw activations",
                _ => "decision = the dense probe's score; explanation = the dense direction attributed onto SAE decoder directions (z_j · v·d_j)",
            },
            Auroc = Mean(folds, f => f.Auroc), AurocStd = Std(folds, f => f.Auroc),
            Auprc = Mean(folds, f => f.Auprc), AuprcStd = Std(folds, f => f.Auprc),
            Accuracy = Mean(folds, f => f.Accuracy), AccuracyStd = Std(folds, f => f.Accuracy),
            F1 = Mean(folds, f => f.F1), F1Std = Std(folds, f => f.F1),
            TprAt1PctFpr = Mean(folds, f => f.TprAt1PctFpr), TprAt1PctFprStd = Std(folds, f => f.TprAt1PctFpr),
            NFeaturesUsed = finalProbe.FeaturesUsed,
            NFeaturesUsedFoldMean = Mean(folds, f => f.NFeaturesUsed),
            OofAuroc = BinaryMetrics.Auroc(oof, labels),
            Threshold = threshold,
            ThresholdOofTpr = BinaryMetrics.FlagRate(Pick(oof, labels, 1), threshold),
            ThresholdOofFpr = BinaryMetrics.FlagRate(Pick(oof, labels, 0), threshold),
            C = finalProbe.C,
            PerCategoryRecall = ProbeScoring.PerCategory(cats, oof, 1, threshold),
            PerCategoryFalsePositiveRate = ProbeScoring.PerCategory(cats, oof, 0, threshold),
            Top5AttributionShare = faith?.Top,
            SaeResidualShare = faith?.Res,
            PerFold = folds,
        };
    }

    static void WriteScores(string path, IReadOnlyList<LabelledPrompt> prompts, CrossValidationResult cv, Dictionary<string, LinearProbe> final, PromptFeatures f)
    {
        var finalScores = ProbeKinds.Fitted.ToDictionary(k => k, k => ProbeScoring.ScoreAll(k, final, f));
        using var w = new StreamWriter(path, false, new System.Text.UTF8Encoding(false));
        for (int i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i];
            w.WriteLine(JsonSerializer.Serialize(new
            {
                dump = p.Dump, doc_id = p.DocId, source = p.Source, label = LabelledSet.LabelName(p.Label), category = p.Category,
                tokens = p.Tokens, fold = cv.Fold[i],
                oof = ProbeKinds.Fitted.ToDictionary(k => k, k => cv.OutOfFold[k][i]),
                final = ProbeKinds.Fitted.ToDictionary(k => k, k => finalScores[k][i]),
                text = p.Text,
            }, JsonDefaults.Line));
        }
    }

    /// <summary>"minilm" for the built-in model; otherwise the given path or the name the acts recorded.</summary>
    static string ModelForManifest(DumpMeta meta, string? overridePath)
    {
        if (overridePath != null) return overridePath;
        return meta.Model.Equals(BuiltInModels.MiniLmName, StringComparison.OrdinalIgnoreCase) ? "minilm" : meta.Model;
    }

    static double[] Pick(double[] s, int[] labels, int cls) => s.Where((_, i) => labels[i] == cls).ToArray();
    static double Mean(List<FoldMetrics> f, Func<FoldMetrics, double> g) => f.Average(g);

    /// <summary>Sample standard deviation (n − 1) over folds.</summary>
    static double Std(List<FoldMetrics> f, Func<FoldMetrics, double> g)
    {
        if (f.Count < 2) return 0;
        double m = f.Average(g);
        return Math.Sqrt(f.Sum(x => (g(x) - m) * (g(x) - m)) / (f.Count - 1));
    }
}
