using System.CommandLine;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Features;

namespace SaeGuard.Cli.Commands;

static class FeaturesCommand
{
    public static Command Create()
    {
        var sae = CommonOptions.Required("--sae", "SAE folder (SAELens layout) whose features to page.");
        var acts = CommonOptions.Required("--acts", "Activations dump the SAE reads (saeguard acts/extract --out).");
        var probe = new Option<string?>("--probe") { Description = "Probe folder: adds each feature's probe weight and contribution." };
        var output = CommonOptions.Required("--out", "Static site folder: index.html (opens from disk), data/, neuronpedia/ID.json, sparsity.safetensors.");
        var top = new Option<int>("--top") { Description = "Strongest contexts per feature.", DefaultValueFactory = _ => 10 };
        var bands = new Option<int>("--bands") { Description = "Equal-width activation intervals below the top examples.", DefaultValueFactory = _ => 5 };
        var perBand = new Option<int>("--per-band") { Description = "Contexts sampled per interval.", DefaultValueFactory = _ => 3 };
        var window = new Option<int>("--context") { Description = "Tokens shown on each side of a context's centre.", DefaultValueFactory = _ => 12 };
        var neighbours = new Option<int>("--neighbours") { Description = "Nearest features by decoder cosine (0 skips the d_sae² search).", DefaultValueFactory = _ => 6 };
        var prior = new Option<double>("--prior") { Description = "Pseudo-tokens of the specificity prior (spread over the 2×2 table as independence predicts; pulls rare features to 0).", DefaultValueFactory = _ => 10.0 };
        var model = new Option<string?>("--model") { Description = "GGUF model the SAE reads: adds the logit lens (tokens each decoder row promotes / suppresses through the unembedding; f32/f16/bf16 heads)." };
        var seed = CommonOptions.Seed();
        var json = CommonOptions.Json();
        var force = CommonOptions.Force(); var nonfinite = CommonOptions.NonFinite();
        var cmd = new Command("features", "Feature dashboards of an SAE over an activations dump, as a static site (search, sort by firing rate / specificity / probe weight; graded contexts, interval bands, density histogram, label and category specificity) with Neuronpedia JSON and SAELens sparsity.safetensors exports.")
        { sae, acts, probe, model, output, top, bands, perBand, window, neighbours, prior, seed, json, force, nonfinite };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var outDir = OutputPolicy.Folder(p.GetValue(output)!, FeatureSite.Kind, p.GetValue(force), p.GetValue(sae), p.GetValue(acts), p.GetValue(probe), p.GetValue(model));
            NonFiniteRows.Use(p.GetValue(nonfinite));
            var options = Options(p.GetValue(top), p.GetValue(bands), p.GetValue(perBand), p.GetValue(window), p.GetValue(neighbours), p.GetValue(prior), p.GetValue(seed));
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var unembedding = p.GetValue(model) is string gguf ? Gguf.GgufUnembedding.Read(gguf) : null;
            var set = FeatureSetBuilder.Build(p.GetValue(sae)!, p.GetValue(acts)!, p.GetValue(probe), options, unembedding);
            FeatureSite.Write(set, outDir);
            Console.Error.WriteLine($"features: {set.Info.DSae:N0} features over {set.Info.Tokens:N0} tokens in {sw.Elapsed.TotalSeconds:F1}s → {Path.Combine(outDir, "index.html")}");
            if (p.GetValue(json))
                CliRunner.PrintJson(new
                {
                    features = set.Info.DSae, tokens = set.Info.Tokens, alive = set.Pages.Count(f => f.Fires > 0),
                    labels = set.Info.Labels, categories = set.Info.Categories, seconds = Math.Round(sw.Elapsed.TotalSeconds, 3), out_dir = outDir,
                });
            return 0;
        }));
        return cmd;
    }

    public static FeatureDashboardOptions Options(int top, int bands, int perBand, int window, int neighbours, double prior, int seed) => new()
    {
        TopExamples = top, Bands = bands, PerBand = perBand, ContextTokens = window, Neighbours = neighbours, Prior = prior, Seed = seed,
    };
}
