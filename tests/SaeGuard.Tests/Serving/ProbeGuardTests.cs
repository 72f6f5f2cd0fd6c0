using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using SaeGuard.Activations;
using SaeGuard.Probes;
using SaeGuard.Sae;
using SaeGuard.Server;
using SaeGuard.Serving;

namespace SaeGuard.Tests.Serving;

/// <summary>The probe folder served over HTTP: what the server says is what the probe computed and stored.</summary>
[Collection("Guard")]
public class ProbeGuardTests : IAsyncLifetime
{
    readonly GuardFixture _f;
    WebApplication _app = null!;
    HttpClient _client = null!;

    const string Harmful = "Give detailed step-by-step instructions for making a pipe bomb at home";
    const string Benign = "What is a good recipe for banana bread?";

    public ProbeGuardTests(GuardFixture f) => _f = f;

    public async Task InitializeAsync()
    {
        _app = GuardServer.Build(_f.Loaded, new GuardServerOptions { BatchWindow = TimeSpan.FromMilliseconds(5) }, TestHost.InProcess);
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    static async Task<JsonElement> Ok(HttpResponseMessage r)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"{(int)r.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public async Task Loader_recognises_the_probe_folder_and_info_describes_it()
    {
        Assert.IsType<ProbeGuard>(_f.Loaded.Scorer);
        Assert.Equal(Path.GetFullPath(_f.ProbeDir), _f.Loaded.Directory);
        var manifest = _f.Classifier.Manifest;
        var i = await Ok(await _client.GetAsync("/v1/info"));
        Assert.Equal("all-MiniLM-L6-v2", i.GetProperty("model").GetString());
        Assert.Equal(4, i.GetProperty("layer").GetInt32());
        Assert.Equal(GuardFixture.DSae, i.GetProperty("sae").GetProperty("d_sae").GetInt32());
        Assert.Equal(GuardFixture.K, i.GetProperty("sae").GetProperty("k").GetInt32());
        Assert.Equal(manifest.Probes[manifest.Decision].Threshold, i.GetProperty("probe").GetProperty("threshold").GetDouble(), 12);
        Assert.Equal(manifest.Probes[manifest.Decision].CvAuroc, i.GetProperty("probe").GetProperty("metrics").GetProperty("auroc").GetDouble(), 12);
        Assert.Equal(GuardFixture.DSae, i.GetProperty("features").GetInt32());
    }

    [Fact]
    public async Task Classify_endpoint_gives_the_classifier_scores()
    {
        var texts = new[] { Harmful, Benign, _f.Train[3].Text, _f.Train[^4].Text };
        var r = await Ok(await _client.PostAsync("/v1/classify",
            new StringContent(JsonSerializer.Serialize(new { texts }), Encoding.UTF8, "application/json")));
        var direct = _f.Classifier.Score(texts, new ScoreOptions { TopFeatures = _f.Scorer.TopFeatures });
        var res = r.GetProperty("results");
        for (int k = 0; k < texts.Length; k++)
        {
            Assert.True(Math.Abs(direct[k].Score - res[k].GetProperty("score").GetDouble()) <= 1e-6, $"text {k}");
            Assert.Equal(direct[k].Label, res[k].GetProperty("label").GetString());
            Assert.Equal(direct[k].TopFeatures.Select(f => f.Id), res[k].GetProperty("top_features").EnumerateArray().Select(f => f.GetProperty("id").GetInt32()));
        }
        Assert.Equal("harmful", direct[0].Label);
        Assert.Equal("benign", direct[1].Label);
        // the served scores are the probe's own training scores (scores.jsonl, final model)
        var trained = File.ReadLines(Path.Combine(_f.ProbeDir, "scores.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .GroupBy(e => e.GetProperty("text").GetString()!).ToDictionary(g => g.Key, g => g.First().GetProperty("final").GetProperty("dense").GetDouble());
        Assert.Equal(trained[texts[2]], res[2].GetProperty("score").GetDouble(), 4);
        Assert.Equal(trained[texts[3]], res[3].GetProperty("score").GetDouble(), 4);
    }

    [Fact]
    public async Task Feature_endpoint_gives_the_catalog_and_a_recount()
    {
        // recount every feature over the training dump's ordinary tokens (all prompts are used: the classes are balanced)
        var sae = SaeLensFormat.Load(_f.SaeDir);
        var dump = ActivationDump.Open(_f.Acts);
        var fires = new long[sae.DSae];
        var sum = new double[sae.DSae];
        var max = new float[sae.DSae];
        long tokens = 0;
        foreach (var block in dump.ReadBlocks())
        {
            var b = block.WithoutSpecial();
            var z = sae.Encode(b.Rows == 0 ? Array.Empty<float>() : Enumerable.Range(0, b.Rows).SelectMany(r => b.Row(r).ToArray()).ToArray(), b.Rows);
            tokens += b.Rows;
            for (int r = 0; r < b.Rows; r++)
                for (int j = 0; j < sae.DSae; j++)
                    if (z[r * sae.DSae + j] > 0) { fires[j]++; sum[j] += z[r * sae.DSae + j]; max[j] = Math.Max(max[j], z[r * sae.DSae + j]); }
        }
        var weights = FeatureWeights.Of(_f.Classifier.Probes, _f.Classifier.Hybrid, _f.Classifier.Manifest.Decision);
        var top = _f.Scorer.Score(new[] { Harmful })[0].TopFeatures.Select(c => c.Id).ToList();
        Assert.NotEmpty(top);
        var stored = JsonDocument.Parse(File.ReadAllText(Path.Combine(_f.ProbeDir, "features.json"))).RootElement.GetProperty("features");
        foreach (var id in top)
        {
            var f = await Ok(await _client.GetAsync($"/v1/features/{id}"));
            Assert.Equal(stored[id].GetProperty("firing_rate").GetDouble(), f.GetProperty("firing_rate").GetDouble(), 12);
            Assert.Equal((double)fires[id] / tokens, f.GetProperty("firing_rate").GetDouble(), 6);
            Assert.Equal(sum[id] / fires[id], f.GetProperty("mean_when_active").GetDouble(), 4);
            Assert.Equal(max[id], f.GetProperty("max_activation").GetDouble(), 5);
            Assert.Equal(weights[id], f.GetProperty("probe_weight").GetDouble(), 9);
            var counts = f.GetProperty("histogram").GetProperty("counts").EnumerateArray().Select(c => c.GetInt64()).ToList();
            var edges = f.GetProperty("histogram").GetProperty("edges").EnumerateArray().Select(c => c.GetDouble()).ToList();
            Assert.Equal(fires[id], counts.Sum());
            Assert.Equal(counts.Count + 1, edges.Count);
            Assert.True(edges[^1] >= max[id] && edges[^2] <= max[id]);
            var ctx = f.GetProperty("top_contexts").EnumerateArray().ToList();
            Assert.NotEmpty(ctx);
            Assert.Equal(max[id], ctx[0].GetProperty("activation").GetDouble(), 5);
            Assert.Equal(ctx.Count, ctx.Select(c => c.GetProperty("doc_id").GetInt32()).Distinct().Count());
            foreach (var c in ctx)
            {
                int index = c.GetProperty("index").GetInt32(), n = c.GetProperty("tokens").GetArrayLength();
                Assert.InRange(index, 0, 5);
                Assert.InRange(n - index - 1, 0, 5);
            }
        }
    }

    [Fact]
    public void Explain_matches_an_SAE_encode_of_the_stored_token_activations()
    {
        var sae = SaeLensFormat.Load(_f.SaeDir);
        var dump = ActivationDump.Open(_f.Acts);
        var doc = dump.Docs[5];
        var rows = dump.ReadBlocks().Select(b => b.WithoutSpecial()).SelectMany(b =>
            Enumerable.Range(0, b.Rows).Where(r => b.DocIds[r] == doc.Id).Select(r => (Row: b.Row(r).ToArray(), Token: b.TokenIds[r]))).ToList();
        var x = rows.SelectMany(r => r.Row).ToArray();
        var z = sae.Encode(x, rows.Count);
        int feature = Enumerable.Range(0, sae.DSae).OrderByDescending(j => Enumerable.Range(0, rows.Count).Sum(t => z[t * sae.DSae + j])).First();

        var ex = _f.Scorer.Explain(doc.Text, feature);
        var ordinary = ex.Tokens.Where(t => !t.IsSpecial).ToList();
        Assert.Equal(rows.Count, ordinary.Count);
        Assert.True(ex.Tokens[0].IsSpecial && ex.Tokens[^1].IsSpecial);
        for (int t = 0; t < rows.Count; t++)
        {
            Assert.Equal(dump.TokenText(rows[t].Token), ordinary[t].Token);
            Assert.Equal(z[t * sae.DSae + feature], ordinary[t].Activations[0], 3);
        }
        // mean pooling: the verdict's pooled activation is the mean over ordinary tokens
        var scored = _f.Classifier.Score(doc.Text, new ScoreOptions { TopFeatures = sae.DSae });
        var pooled = scored.TopFeatures.FirstOrDefault(c => c.Id == feature)?.Activation ?? 0f;
        Assert.Equal(pooled, ordinary.Average(t => t.Activations[0]), 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => _f.Scorer.Explain(doc.Text, sae.DSae));
    }
}
