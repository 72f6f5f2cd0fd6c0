using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using SaeGuard.Features;
using SaeGuard.Server;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Features;

/// <summary>The dashboard's HTTP API (`serve --sae --acts`) in process: the library's numbers, JSON errors.</summary>
public class FeatureApiTests
{
    [Fact]
    public async Task Api_serves_summaries_pages_and_neuronpedia_json_and_404s_unknown_ids()
    {
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        var set = FeatureSetBuilder.Build(sae, acts);
        await using var app = FeatureServer.Build(set, new GuardServerOptions(), b => b.WebHost.UseTestServer());
        await app.StartAsync();
        var http = app.GetTestClient();

        var index = JsonNode.Parse(await http.GetStringAsync("/v1/features"))!;
        Assert.Equal(PlantedFeatures.D, index["info"]!["d_sae"]!.GetValue<int>());
        var rates = index["features"]!.AsArray().Select(f => f!["firing_rate"]!.GetValue<double>()).ToList();
        Assert.Equal(set.Pages.Select(p => p.FiringRate), rates);
        Assert.Equal(set.Pages[0].ByCategory.Single(g => g.Group == "cyber").Specificity,
            index["features"]![0]!["category_specificity"]!["cyber"]!.GetValue<double>(), 4);

        var page = JsonNode.Parse(await http.GetStringAsync("/v1/features/1"))!;
        Assert.Equal(set.Pages[1].Bands.Select(b => b.Count), page["bands"]!.AsArray().Select(b => b!["count"]!.GetValue<long>()));
        foreach (var c in page["top"]!.AsArray().Concat(page["non_firing"]!.AsArray()))
            Assert.Equal(c!["tokens"]!.AsArray().Count, c["values"]!.AsArray().Count);

        var np = JsonNode.Parse(await http.GetStringAsync("/v1/features/1/neuronpedia"))!.AsObject();
        foreach (var field in NeuronpediaExport.RequiredFields) Assert.True(np.ContainsKey(field), field);

        foreach (var bad in new[] { "/v1/features/8", "/v1/features/-1", "/v1/features/abc", "/v1/features/99999999999" })
        {
            var r = await http.GetAsync(bad);
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.Equal("unknown_feature", JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        }
        var html = await http.GetAsync("/");
        Assert.Contains("default-src 'self'", html.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("dashboard.js", await html.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Serve_with_sae_but_no_acts_is_a_user_error()
    {
        using var tmp = new TempDir();
        var (sae, _) = PlantedFeatures.Write(tmp.Path);
        var (code, _, err) = CliHarness.Run("serve", "--sae", sae);
        Assert.Equal(1, code);
        Assert.Contains("--sae and --acts go together", err);
    }
}
