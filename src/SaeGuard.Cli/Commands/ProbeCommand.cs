using System.CommandLine;
using SaeGuard.Data;
using SaeGuard.Probes;

namespace SaeGuard.Cli.Commands;

static class ProbeCommand
{
    public static Command Create()
    {
        var acts = new Option<string[]>("--acts") { Description = "Activation folder(s) from extract; their docs.jsonl carry the labels (several folders are pooled).", Required = true, AllowMultipleArgumentsPerToken = true };
        var sae = CommonOptions.Required("--sae", "SAE folder (SAELens layout) trained on the same model and layer.");
        var output = CommonOptions.Required("--out", "Output probe folder.");
        var pooling = new Option<string>("--pooling") { Description = "mean|max|last over each prompt's non-special tokens.", DefaultValueFactory = _ => "mean" };
        var folds = new Option<int>("--folds") { Description = "Stratified cross-validation folds.", DefaultValueFactory = _ => 5 };
        var seed = CommonOptions.Seed();
        var labels = new Option<string?>("--labels") { Description = "Label rules by source, e.g. 'harmful_behaviors=harmful,harmless_*=benign,ShareGPT*=ignore' (SOURCE=LABEL[:CATEGORY]; source = input file name without extension)." };
        var matchLength = new Option<bool>("--match-length") { Description = "Equal harmful/benign counts within each token-length bin, so length cannot separate the classes." };
        var maxPerClass = new Option<int>("--max-per-class") { Description = "Use at most this many prompts per class (0 = all after balancing).", DefaultValueFactory = _ => 0 };
        var maxFeatures = new Option<int>("--max-features") { Description = "Feature budget of the L1 SAE probe.", DefaultValueFactory = _ => 64 };
        var saeCMax = new Option<double>("--sae-c-max") { Description = "Largest inverse regularisation C on the L1 SAE probe's path.", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int>("--top-k") { Description = "Features of the top-k SAE probe.", DefaultValueFactory = _ => 64 };
        var c = new Option<double>("--c") { Description = "Inverse L2 regularisation C of the dense and top-k probes (scikit-learn's C).", DefaultValueFactory = _ => 1.0 };
        var test = new Option<string[]>("--test") { Description = "Held-out set(s): an activations folder or a labelled corpus file (run through the model).", AllowMultipleArgumentsPerToken = true };
        var testLabel = new Option<string?>("--test-label") { Description = "Label every row of the --test file(s): harmful or benign." };
        var testText = new Option<string?>("--test-text-column") { Description = "Text column of the --test file(s)." };
        var testLabelCol = new Option<string?>("--test-label-column") { Description = "Label column of the --test file(s)." };
        var testCat = new Option<string?>("--test-category-column") { Description = "Category column of the --test file(s)." };
        var model = new Option<string?>("--model") { Description = "Model file to record and to run --test files through, when the activations came from a non-built-in model." };
        var decision = new Option<string>("--decision") { Description = "Probe classify uses by default: hybrid|sae|sae_topk|dense.", DefaultValueFactory = _ => ProbeKinds.Hybrid };
        var targetTpr = new Option<double>("--target-tpr") { Description = "Stored threshold = the one giving this TPR on out-of-fold training scores.", DefaultValueFactory = _ => 0.95 };
        var json = CommonOptions.Json();
        var cmd = new Command("probe", "Train and compare harmful-prompt classifiers on SAE features vs a dense linear probe (cross-validated), and save a probe folder for classify/serve.")
        { acts, sae, output, pooling, folds, seed, labels, matchLength, maxPerClass, maxFeatures, saeCMax, topK, c, test, testLabel, testText, testLabelCol, testCat, model, decision, targetTpr, json };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var read = new CorpusReadOptions
            {
                TextColumn = p.GetValue(testText), LabelColumn = p.GetValue(testLabelCol),
                CategoryColumn = p.GetValue(testCat), FixedLabel = p.GetValue(testLabel),
            };
            var options = new ProbeOptions
            {
                Acts = p.GetValue(acts)!, Sae = p.GetValue(sae)!, Out = p.GetValue(output)!,
                Pooling = PoolingNames.Parse(p.GetValue(pooling)!), Folds = p.GetValue(folds), Seed = p.GetValue(seed),
                Labels = p.GetValue(labels), MatchLength = p.GetValue(matchLength), MaxPerClass = p.GetValue(maxPerClass),
                Settings = new ProbeSettings
                {
                    MaxSaeFeatures = p.GetValue(maxFeatures), SaeCMax = p.GetValue(saeCMax),
                    TopK = p.GetValue(topK), TopKC = p.GetValue(c), DenseC = p.GetValue(c),
                },
                Tests = (p.GetValue(test) ?? Array.Empty<string>()).Select(t => new HeldOutSpec { Path = t, Read = read }).ToList(),
                Model = p.GetValue(model), Models = CliModels.Sources, Decision = p.GetValue(decision)!, TargetTpr = p.GetValue(targetTpr),
            };
            if (options.Settings.MaxSaeFeatures < 1 || options.Settings.TopK < 1)
                throw new Common.UserError("--max-features and --top-k must be at least 1.");
            if (options.Settings.SaeCMax <= 0 || options.Settings.DenseC <= 0)
                throw new Common.UserError("--c and --sae-c-max must be positive.");
            var m = ProbeTrainer.Run(options);
            foreach (var kind in ProbeKinds.All)
            {
                var s = m.Get(kind);
                Console.Error.WriteLine($"  {kind,-9} AUROC {s.Auroc:F4} ± {s.AurocStd:F4}  AUPRC {s.Auprc:F4}  acc {s.Accuracy:F4}  F1 {s.F1:F4}  TPR@1%FPR {s.TprAt1PctFpr:F3}  features {s.NFeaturesUsed}");
            }
            foreach (var t in m.Test)
                Console.Error.WriteLine($"  test {t.Name}: n {t.N} ({t.NHarmful} harmful, {t.NBenign} benign); flagged at threshold: " +
                    string.Join(", ", ProbeKinds.All.Select(k => $"{k} {t.Probes[k].FlagRateAtThreshold:F3}")));
            Console.Error.WriteLine($"probe: {m.NPerClass} per class, {m.Folds} folds, {m.Seconds:F1}s → {options.Out}");
            if (p.GetValue(json)) CliRunner.PrintJson(m);
            return 0;
        }));
        return cmd;
    }
}
