using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGuard.Features;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Features;

/// <summary>`saeguard features` output: the static site's data, Neuronpedia JSON and SAELens sparsity.safetensors.</summary>
public class ExportTests
{
    [Fact]
    public void Features_command_writes_site_neuronpedia_json_and_sparsity_that_match_the_library()
    {
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        var outDir = Path.Combine(tmp.Path, "site");
        var (code, _, err) = CliHarness.Run("features", "--sae", sae, "--acts", acts, "--out", outDir, "--top", "6");
        Assert.True(code == 0, err);
        var set = FeatureSetBuilder.Build(sae, acts, null, new FeatureDashboardOptions { TopExamples = 6 });
        foreach (var f in new[] { "index.html", "dashboard.js", "dashboard.css", "data/index.js", "data/f/0.js", "neuronpedia/0.json", "sparsity.safetensors" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);

        // data/f/ID.js holds the library's page
        var js = File.ReadAllText(Path.Combine(outDir, "data/f/0.js"));
        var prefix = $"window.{FeatureSite.PageCallback}(";
        Assert.StartsWith(prefix, js);
        var page = JsonNode.Parse(js[prefix.Length..js.LastIndexOf(')')])!;
        Assert.Equal(set.Pages[0].Fires, page["fires"]!.GetValue<long>());
        Assert.Equal(set.Pages[0].Histogram.Counts, page["histogram"]!["counts"]!.AsArray().Select(c => c!.GetValue<long>()));
        Assert.Equal(set.Pages[0].Top.Count, page["top"]!.AsArray().Count);

        // Neuronpedia schema: every field, with the right types and consistent values
        for (int j = 0; j < PlantedFeatures.D; j++)
        {
            var np = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, $"neuronpedia/{j}.json")))!.AsObject();
            foreach (var field in NeuronpediaExport.RequiredFields) Assert.True(np.ContainsKey(field), $"feature {j}: no '{field}'");
            Assert.Equal("toy", np["modelId"]!.GetValue<string>());
            Assert.Equal("3-resid_post", np["layer"]!.GetValue<string>());
            Assert.Equal(j.ToString(), np["index"]!.GetValue<string>());
            Assert.Equal(set.Pages[j].FiringRate, np["frac_nonzero"]!.GetValue<double>(), 12);
            Assert.Equal(set.Pages[j].Max, np["maxActApprox"]!.GetValue<double>(), 6);
            var heights = np["freq_hist_data_bar_heights"]!.AsArray().Select(v => v!.GetValue<long>()).ToList();
            var centres = np["freq_hist_data_bar_values"]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
            Assert.Equal(heights.Count, centres.Count);
            Assert.Equal(set.Pages[j].Fires, heights.Sum());
            Assert.Equal(centres.Order(), centres);
            var activations = np["activations"]!.AsArray();
            Assert.Equal(set.Pages[j].Top.Count + set.Pages[j].Bands.Sum(b => b.Examples.Count), activations.Count);
            foreach (var a in activations.Select(x => x!.AsObject()))
            {
                var tokens = a["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
                var values = a["values"]!.AsArray().Select(t => t!.GetValue<double>()).ToList();
                Assert.Equal(tokens.Count, values.Count);
                int arg = a["maxValueTokenIndex"]!.GetValue<int>();
                Assert.InRange(arg, 0, values.Count - 1);
                Assert.Equal(values.Max(), a["maxValue"]!.GetValue<double>(), 6);
                Assert.Equal(values.Max(), values[arg], 6);
                Assert.All(tokens, t => Assert.Contains(t, PlantedFeatures.Vocab));
            }
            foreach (var k in new[] { "pos_str", "pos_values", "neg_str", "neg_values" }) Assert.Equal(JsonValueKind.Array, np[k]!.GetValueKind());
        }
        Assert.Equal("malware", JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "neuronpedia/0.json")))!["activations"]![0]!["tokens"]!
            .AsArray().Select(t => t!.GetValue<string>()).ElementAt(set.Pages[0].Top[0].Centre));

        // SAELens sparsity: log10 firing density, −10 for the dead feature
        var sparsity = SparsityFile.Read(Path.Combine(outDir, SparsityFile.FileName), PlantedFeatures.D);
        for (int j = 0; j < PlantedFeatures.D; j++)
            Assert.Equal(set.Pages[j].Fires == 0 ? -10 : Math.Log10(set.Pages[j].FiringRate), sparsity[j], 5);
        Assert.Equal(-10f, sparsity[3]);
    }

    [Fact]
    public void Sparsity_file_round_trips_and_rejects_a_wrong_width()
    {
        using var tmp = new TempDir();
        var path = Path.Combine(tmp.Path, SparsityFile.FileName);
        SparsityFile.Write(path, new[] { 0.5, 0.001, 0 }, 1000);
        var v = SparsityFile.Read(path, 3);
        Assert.Equal(new[] { (float)Math.Log10(0.5), -3f, -10f }, v);
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => SparsityFile.Read(path, 4));
        Assert.Contains("expected [4]", e.Message);
    }

    [Fact]
    public void Features_command_refuses_an_out_inside_an_input_and_a_mismatched_sae()
    {
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        var (code, _, err) = CliHarness.Run("features", "--sae", sae, "--acts", acts, "--out", Path.Combine(acts, "site"));
        Assert.Equal(1, code);
        Assert.Contains("acts", err);
        var wide = Path.Combine(tmp.Path, "wide");
        SaeLensFormat.Save(SaeGuard.Tests.Analysis.SyntheticSae.Make(10, 1).Sae, wide);
        (code, _, err) = CliHarness.Run("features", "--sae", wide, "--acts", acts, "--out", Path.Combine(tmp.Path, "o"));
        Assert.Equal(1, code);
        Assert.Contains("d_in", err);
    }
}
