using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Probes;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Probes;

public class ProbePipelineTests
{
    const int D = 16;

    static (TempDir Tmp, string Acts, string Sae) Setup(int harmful = 40, int benign = 60, double shift = 1.5, int dSae = 64)
    {
        var tmp = new TempDir();
        var docs = SyntheticActs.Make(harmful, benign, D, shift, seed: 7, harmfulCategories: new[] { "fraud", "privacy" });
        SyntheticActs.Write(tmp["acts"], docs, D);
        SaeLensFormat.Save(SyntheticActs.RandomSae(D, dSae, 8, seed: 5), tmp["sae"]);
        return (tmp, tmp["acts"], tmp["sae"]);
    }

    static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    [Fact]
    public void Probe_writes_a_self_contained_folder_with_the_spec_metrics()
    {
        var (tmp, acts, sae) = Setup();
        using var cleanup = tmp;
        var outDir = tmp["probe"];
        var (code, _, err) = CliHarness.Run("probe", "--acts", acts, "--sae", sae, "--out", outDir, "--folds", "4", "--seed", "3");
        Assert.True(code == 0, err);
        var m = Json(Path.Combine(outDir, "metrics.json"));
        Assert.Equal(40, m.GetProperty("n_per_class").GetInt32());
        Assert.Equal(4, m.GetProperty("folds").GetInt32());
        Assert.Equal("mean", m.GetProperty("pooling").GetString());
        foreach (var kind in new[] { "sae", "dense", "hybrid", "sae_topk" })
        {
            var p = m.GetProperty(kind);
            foreach (var key in new[] { "auroc", "auprc", "accuracy", "f1", "tpr_at_1pct_fpr" })
            {
                Assert.InRange(p.GetProperty(key).GetDouble(), 0, 1);
                Assert.True(p.GetProperty(key + "_std").GetDouble() >= 0);
            }
            Assert.Equal(4, p.GetProperty("per_fold").GetArrayLength());
            // The fold means are the means of the per-fold values.
            var folds = p.GetProperty("per_fold").EnumerateArray().Select(f => f.GetProperty("auroc").GetDouble()).ToArray();
            Assert.Equal(folds.Average(), p.GetProperty("auroc").GetDouble(), 12);
            var cats = p.GetProperty("per_category_recall");
            Assert.Equal(20, cats.GetProperty("fraud").GetProperty("n").GetInt32());
            Assert.Equal(20, cats.GetProperty("privacy").GetProperty("n").GetInt32());
        }
        Assert.True(m.GetProperty("dense").GetProperty("auroc").GetDouble() > 0.95);
        Assert.Equal(m.GetProperty("dense").GetProperty("auroc").GetDouble(), m.GetProperty("hybrid").GetProperty("auroc").GetDouble());
        Assert.InRange(m.GetProperty("sae").GetProperty("n_features_used").GetInt32(), 1, 64);
        Assert.Equal(D, m.GetProperty("dense").GetProperty("n_features_used").GetInt32());

        // probe.json records everything classify needs; sae/ is a copy of the SAE.
        var manifest = ProbeManifest.Load(outDir);
        Assert.Equal("synthetic", manifest.Model);
        Assert.Equal("mean", manifest.Pooling);
        Assert.Equal("f32", manifest.ActsDtype);
        Assert.Equal(ProbeKinds.Hybrid, manifest.Decision);
        var copied = SaeLensFormat.Load(Path.Combine(outDir, "sae"));
        Assert.Equal(SaeLensFormat.Load(sae).WDec, copied.WDec);

        // Stored thresholds give ≥ 95% TPR on the out-of-fold scores (scores.jsonl).
        var rows = File.ReadLines(Path.Combine(outDir, "scores.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(80, rows.Count);
        foreach (var kind in ProbeKinds.Fitted)
        {
            double t = manifest.Probes[kind].Threshold;
            var harmful = rows.Where(r => r.GetProperty("label").GetString() == "harmful").Select(r => r.GetProperty("oof").GetProperty(kind).GetDouble()).ToArray();
            Assert.True(harmful.Count(s => s >= t) >= 0.95 * harmful.Length);
            Assert.Equal(manifest.Probes[kind].ThresholdOofTpr, harmful.Count(s => s >= t) / (double)harmful.Length, 12);
        }

        // The saved weights score like the trained probes.
        var f = DumpFeaturizer.Run(new[] { ActivationDump.Open(acts) }, rows.Select(r => (0, r.GetProperty("doc_id").GetInt32())).ToList(), copied, Pooling.Mean, 0);
        var saved = ProbeWeights.Read(Path.Combine(outDir, ProbeManifest.WeightsFile), ProbeKinds.Sae, 64, null);
        for (int i = 0; i < rows.Count; i++)
            Assert.Equal(rows[i].GetProperty("final").GetProperty("sae").GetDouble(), saved.Score(f.CodeRow(i)), 12);

        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("<svg", html);
        Assert.Contains("polyline", html);
        Assert.Contains("fraud", html);
        var catalog = FeatureCatalog.Load(Path.Combine(outDir, ProbeManifest.FeaturesFile));
        Assert.Equal(64, catalog.Features.Count);
        Assert.All(catalog.Explained, e => Assert.True(e.SaeWeight != 0 || e.SaeTopKWeight != 0));
    }

    [Fact]
    public void Same_seed_gives_the_same_metrics()
    {
        var (tmp, acts, sae) = Setup(30, 30);
        using var cleanup = tmp;
        string Run(string name)
        {
            var (code, _, err) = CliHarness.Run("probe", "--acts", acts, "--sae", sae, "--out", tmp[name], "--seed", "11");
            Assert.True(code == 0, err);
            var m = JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp[name], "metrics.json"))).RootElement;
            return string.Join(",", ProbeKinds.All.Select(k => m.GetProperty(k).GetProperty("auroc").GetDouble().ToString("R")))
                + File.ReadAllText(Path.Combine(tmp[name], "scores.jsonl"));
        }
        Assert.Equal(Run("a"), Run("b"));
    }

    [Fact]
    public void Labels_come_from_rules_by_source_across_several_dumps()
    {
        using var tmp = new TempDir();
        var a = SyntheticActs.Make(25, 0, D, 2.0, seed: 1).Select(d => d with { Label = null!, Source = "advbench" }).ToList();
        var b = SyntheticActs.Make(0, 40, D, 2.0, seed: 2).Select(d => d with { Label = null!, Source = "alpaca_eval" }).ToList();
        SyntheticActs.Write(tmp["h"], a, D);
        SyntheticActs.Write(tmp["b"], b, D);
        SaeLensFormat.Save(SyntheticActs.RandomSae(D, 32, 4, seed: 5), tmp["sae"]);
        var (code, _, err) = CliHarness.Run("probe", "--acts", tmp["h"], tmp["b"], "--sae", tmp["sae"], "--out", tmp["p"],
            "--labels", "advbench=harmful:fraud, alpaca*=benign");
        Assert.True(code == 0, err);
        var m = Json(Path.Combine(tmp["p"], "metrics.json"));
        Assert.Equal(25, m.GetProperty("n_per_class").GetInt32());
        var src = m.GetProperty("selection").GetProperty("by_source");
        Assert.Equal(40, src.GetProperty("alpaca_eval").GetProperty("available").GetInt32());
        Assert.Equal(25, src.GetProperty("alpaca_eval").GetProperty("used").GetInt32());
        Assert.Equal("harmful", src.GetProperty("advbench").GetProperty("label").GetString());
        Assert.Equal(25, m.GetProperty("sae").GetProperty("per_category_recall").GetProperty("fraud").GetProperty("n").GetInt32());
    }

    [Fact]
    public void One_class_missing_is_a_user_error()
    {
        using var tmp = new TempDir();
        SyntheticActs.Write(tmp["acts"], SyntheticActs.Make(0, 30, D, 1, seed: 1), D);
        SaeLensFormat.Save(SyntheticActs.RandomSae(D, 32, 4, seed: 5), tmp["sae"]);
        var (code, _, err) = CliHarness.Run("probe", "--acts", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["p"]);
        Assert.Equal(1, code);
        Assert.Contains("0 harmful and 30 benign", err);
        Assert.False(Directory.Exists(tmp["p"]));
    }

    [Fact]
    public void Fewer_examples_than_folds_is_a_user_error()
    {
        var (tmp, acts, sae) = Setup(harmful: 3, benign: 30);
        using var cleanup = tmp;
        var (code, _, err) = CliHarness.Run("probe", "--acts", acts, "--sae", sae, "--out", tmp["p"], "--folds", "5");
        Assert.Equal(1, code);
        Assert.Contains("3 harmful and 3 benign", err);
        Assert.Contains("--folds = 5", err);
        Assert.False(Directory.Exists(tmp["p"]));
    }

    [Fact]
    public void Sae_width_mismatch_is_a_user_error()
    {
        var (tmp, acts, _) = Setup(10, 10);
        using var cleanup = tmp;
        SaeLensFormat.Save(SyntheticActs.RandomSae(8, 32, 4, seed: 5), tmp["sae8"]);
        var (code, _, err) = CliHarness.Run("probe", "--acts", acts, "--sae", tmp["sae8"], "--out", tmp["p"]);
        Assert.Equal(1, code);
        Assert.Contains("d_in = 8", err);
        Assert.Contains("d = 16", err);
        Assert.False(Directory.Exists(tmp["p"]));
    }

    [Fact]
    public void Mixed_activation_widths_and_bad_options_are_user_errors()
    {
        var (tmp, acts, sae) = Setup(10, 10);
        using var cleanup = tmp;
        SyntheticActs.Write(tmp["acts8"], SyntheticActs.Make(5, 5, 8, 1, seed: 1), 8);
        var (code, _, err) = CliHarness.Run("probe", "--acts", acts, tmp["acts8"], "--sae", sae, "--out", tmp["p"]);
        Assert.Equal(1, code);
        Assert.Contains("same model and layer", err);
        (code, _, err) = CliHarness.Run("probe", "--acts", acts, "--sae", sae, "--out", tmp["p"], "--pooling", "median");
        Assert.Equal(1, code);
        Assert.Contains("mean, max or last", err);
        (code, _, err) = CliHarness.Run("probe", "--acts", acts, "--sae", sae, "--out", tmp["p"], "--labels", "advbench");
        Assert.Equal(1, code);
        Assert.Contains("SOURCE=LABEL", err);
    }

    [Fact]
    public void Classify_bad_inputs_are_user_errors()
    {
        var (tmp, acts, sae) = Setup(10, 10);
        using var cleanup = tmp;
        var (code, _, err) = CliHarness.Run("classify", "--probe", tmp["nothing"], "--text", "hello");
        Assert.Equal(1, code);
        Assert.Contains("Probe folder not found", err);
        Assert.Equal(0, CliHarness.Run("probe", "--acts", acts, "--sae", sae, "--out", tmp["p"], "--folds", "3").Code);
        (code, _, err) = CliHarness.Run("classify", "--probe", tmp["p"]);
        Assert.Equal(1, code);
        Assert.Contains("--text", err);
        (code, _, err) = CliHarness.Run("classify", "--probe", tmp["p"], "--text", "hi", "--out", tmp["x.txt"]);
        Assert.Equal(1, code);
        Assert.Contains(".csv or .jsonl", err);
        // The synthetic activations name no real model: loading says which model is missing.
        (code, _, err) = CliHarness.Run("classify", "--probe", tmp["p"], "--text", "hi");
        Assert.Equal(1, code);
        Assert.Contains("'synthetic'", err);
    }

    // Float32 encodes of one token vs a batch may differ in the last bits (summation order).
    static void AssertClose(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 5e-6 * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {actual}");

    [Theory]
    [InlineData(Pooling.Mean)]
    [InlineData(Pooling.Max)]
    [InlineData(Pooling.Last)]
    public void Pooling_over_non_special_tokens_matches_a_direct_computation(Pooling pooling)
    {
        using var tmp = new TempDir();
        var docs = SyntheticActs.Make(4, 4, D, 1, seed: 9);
        SyntheticActs.Write(tmp["acts"], docs, D);
        var sae = SyntheticActs.RandomSae(D, 32, 4, seed: 5);
        var f = DumpFeaturizer.Run(new[] { ActivationDump.Open(tmp["acts"]) }, new[] { (0, 5), (0, 2) }, sae, pooling, 0);
        foreach (var (row, doc) in new[] { (0, 5), (1, 2) })
        {
            var toks = docs[doc].Tokens;
            var codes = toks.Select(t => sae.Encode(t, 1)).ToArray();
            for (int j = 0; j < D; j++)
                AssertClose(Pool(toks.Select(t => (double)t[j]), pooling), f.DenseRow(row)[j]);
            for (int j = 0; j < 32; j++)
                AssertClose(Pool(codes.Select(c => (double)c[j]), pooling), f.CodeRow(row)[j]);
            Assert.Equal(toks.Length, f.TokenIds[row].Length);
        }
    }

    static double Pool(IEnumerable<double> v, Pooling p) => p switch
    {
        Pooling.Mean => v.Average(),
        Pooling.Max => v.Max(),
        _ => v.Last(),
    };
}
