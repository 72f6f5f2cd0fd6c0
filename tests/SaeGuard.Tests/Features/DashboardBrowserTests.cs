using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using SaeGuard.Features;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Features;

/// <summary>
/// The feature dashboard in a real browser (Playwright + Debian's /usr/bin/chromium, never a
/// downloaded one): the static export opened from file:// and `saeguard serve --sae --acts` as a
/// child process. Checks graded token colours, the histogram's axes and bars against the library,
/// search by a token and the sort by specificity to a category; screenshots under screenshots/.
/// </summary>
[Trait("Category", "Slow")]
public class DashboardBrowserTests
{
    const string ChromiumPath = "/usr/bin/chromium";

    [Fact]
    public async Task Static_export_and_served_dashboard_show_graded_contexts_histogram_search_and_category_sort()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: install Debian's chromium (it is listed in .ci/apt-packages).");
        using var tmp = new TempDir();
        var (sae, acts) = PlantedFeatures.Write(tmp.Path);
        var site = Path.Combine(tmp.Path, "site");
        var (code, _, err) = CliHarness.Run("features", "--sae", sae, "--acts", acts, "--out", site);
        Assert.True(code == 0, err);
        var set = FeatureSetBuilder.Build(sae, acts);
        var shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(shots);

        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        using var playwright = await Playwright.CreateAsync();
        using var profile = new TempDir();
        await using var context = await playwright.Chromium.LaunchPersistentContextAsync(profile.Path, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumPath, Headless = true,
            Args = new[] { "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run" },
            ViewportSize = new ViewportSize { Width = 1200, Height = 900 },
        });
        var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
        var problems = new List<string>();
        page.PageError += (_, e) => problems.Add("page error: " + e);
        page.Request += (_, r) => { if (!r.Url.StartsWith("file://", StringComparison.Ordinal) && !r.Url.StartsWith("http://127.0.0.1", StringComparison.Ordinal)) problems.Add("off-host request: " + r.Url); };

        // static export from disk
        var index = "file://" + Path.Combine(site, "index.html");
        await CheckFeaturePage(page, index + "#/feature/0", set.Pages[0], Path.Combine(shots, "features-static-page.png"));
        await page.GotoAsync(index + "#/");
        await CheckList(page, set, Path.Combine(shots, "features-static-list.png"));

        // the same page from `serve --sae --acts`
        int port = FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        using (var server = Serve(sae, acts, baseUrl))
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var sw = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(server.HasExited, "serve exited early");
                try { if ((await http.GetAsync(baseUrl + "/v1/features")).StatusCode == HttpStatusCode.OK) break; }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(120), "serve did not answer /v1/features within 120 s");
                await Task.Delay(250);
            }
            // the API gives every token's activation of each context
            var api = JsonNode.Parse(await http.GetStringAsync(baseUrl + "/v1/features/0"))!;
            var first = api["top"]![0]!;
            Assert.Equal(first["tokens"]!.AsArray().Count, first["values"]!.AsArray().Count);
            Assert.Equal(set.Pages[0].Top[0].Values, first["values"]!.AsArray().Select(v => v!.GetValue<float>()));
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(baseUrl + "/v1/features/999")).StatusCode);
            await CheckFeaturePage(page, baseUrl + "/#/feature/0", set.Pages[0], Path.Combine(shots, "features-served-page.png"));
            await page.GotoAsync(baseUrl + "/#/");
            await CheckList(page, set, Path.Combine(shots, "features-served-list.png"));
            server.Kill(entireProcessTree: true);
            server.WaitForExit(10_000);
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        foreach (var f in Directory.GetFiles(shots, "features-*.png")) Assert.True(new FileInfo(f).Length > 10_000, f);
    }

    static async Task CheckFeaturePage(IPage page, string url, FeaturePage expected, string shot)
    {
        await page.GotoAsync(url);
        await Assertions.Expect(page.Locator("#feature-title")).ToHaveTextAsync($"Feature #{expected.Id} — {expected.Label}");
        // graded colouring: several distinct backgrounds among the active tokens, the value on hover
        var tokens = page.Locator("#top-examples .tok.active");
        await Assertions.Expect(tokens.First).ToBeVisibleAsync();
        var backgrounds = await tokens.EvaluateAllAsync<string[]>("els => els.map(e => getComputedStyle(e).backgroundColor)");
        Assert.True(backgrounds.Distinct().Count() >= 4, "distinct backgrounds: " + string.Join(" | ", backgrounds.Distinct()));
        Assert.All(backgrounds, b => Assert.Matches(@"^rgba?\(255, 122, 0", b));
        Assert.Equal(expected.Top.Count, await page.Locator("#top-examples .tok.hit").CountAsync());
        var shown = await page.Locator("#top-examples li").First.Locator(".tok").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.activation)");
        Assert.Equal(expected.Top[0].Values, shown.Select(s => float.Parse(s, CultureInfo.InvariantCulture)));
        // histogram: bars with the library's counts, both axes with ticks and titles
        var counts = await page.Locator("#histogram rect.hbar").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.count)");
        Assert.Equal(expected.Histogram.Counts, counts.Select(long.Parse));
        Assert.True(await page.Locator("#histogram g.x-axis text.tick").CountAsync() >= 3);
        Assert.True(await page.Locator("#histogram g.y-axis text.tick").CountAsync() >= 3);
        await Assertions.Expect(page.Locator("#histogram g.x-axis text.axis-title")).ToHaveTextAsync("activation (log scale)");
        await Assertions.Expect(page.Locator("#histogram g.y-axis text.axis-title")).ToHaveTextAsync("tokens");
        // category table and bands
        var cyber = expected.ByCategory.Single(g => g.Group == "cyber");
        var specShown = await page.Locator("#by-category tr[data-group=cyber] td.spec").GetAttributeAsync("data-value");
        Assert.Equal(cyber.Specificity, double.Parse(specShown!, CultureInfo.InvariantCulture), 9);
        Assert.Equal(expected.Bands.Count, await page.Locator("#bands .band").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
    }

    static async Task CheckList(IPage page, FeatureSet set, string shot)
    {
        await Assertions.Expect(page.Locator("#features-summary")).ToContainTextAsync($"{set.Pages.Count} features");
        await page.Locator("#search").FillAsync("malware");
        await Assertions.Expect(page.Locator("#feature-table tbody tr[data-id='0']")).ToHaveCountAsync(1);
        var found = await page.Locator("#feature-table tbody tr").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.id)");
        var expected = set.Summaries().Where(s => s.FiringRate > 0 && (s.Label.Contains("malware") || s.TopTokens.Any(t => t.Contains("malware")))).Select(s => s.Id.ToString()).Order().ToList();
        Assert.Equal(expected, found.Order().ToList());
        await page.Locator("#search").FillAsync("");
        await page.Locator("#sort").SelectOptionAsync("category:cyber");
        await Assertions.Expect(page.Locator("#features-summary")).ToContainTextAsync("specificity to category cyber");
        var ids = await page.Locator("#feature-table tbody tr").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.id)");
        Assert.Equal("0", ids[0]);
        var specs = (await page.Locator("#feature-table td.spec").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.value)"))
            .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(specs.OrderByDescending(s => s), specs);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
    }

    static Process Serve(string sae, string acts, string url)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "SaeGuard.Cli.dll");
        Assert.True(File.Exists(cli), $"{cli} not found beside the tests");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (var a in new[] { cli, "serve", "--sae", sae, "--acts", acts, "--urls", url }) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
