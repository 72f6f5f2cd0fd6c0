using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Server;
using SaeGuard.Serving;

namespace SaeGuard.Bench;

/// <summary>
/// Loopback load on /v1/classify: N single-text requests from C concurrent clients against
/// `serve` on 127.0.0.1 (an ephemeral port), with micro-batching on (max batch 32) and off
/// (max batch 1), beside direct in-process scoring. Bounded: fixed request counts and a 10-minute cap.
///   serve-load [--probe DIR] [--requests 5000] [--concurrency 32] [--threads 0] [--save-guard DIR]
/// Without --probe, a probe folder is trained first (extract → SAE → probe) on AdvBench vs Alpaca
/// prompts from ../shared/data (and kept in --save-guard DIR when given).
/// </summary>
public sealed class ServeLoadBenchmark : IBenchmark
{
    public string Name => "serve-load";
    public string Description => "HTTP load on /v1/classify over loopback (p50/p99 latency, requests/s), batching on and off";

    public void Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    static async Task RunAsync(string[] args)
    {
        string? probe = Arg(args, "--probe");
        int requests = int.Parse(Arg(args, "--requests") ?? "5000");
        int concurrency = int.Parse(Arg(args, "--concurrency") ?? "32");
        int threads = int.Parse(Arg(args, "--threads") ?? "0");
        using var cap = new CancellationTokenSource(TimeSpan.FromMinutes(10));

        var (guard, prompts) = probe != null ? (GuardLoader.Load(probe, new SaeGuard.Probes.GuardLoadOptions { Threads = threads }), DefaultPrompts()) : FitGuard(threads, Arg(args, "--save-guard"));
        using (guard)
        {
            Console.WriteLine($"guard: {guard.Scorer.Info.Model} layer {guard.Scorer.Info.Layer}, SAE {guard.Scorer.Info.Sae.DSae}; {prompts.Count} distinct prompts, mean {prompts.Average(p => p.Length):F0} chars");
            Direct(guard.Scorer, prompts, requests);
            Console.WriteLine("| config | requests | concurrency | errors | p50 ms | p90 ms | p99 ms | max ms | requests/s | batches | mean batch |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var (name, maxBatch, window) in new[] { ("batching (max 32, 1 ms window)", 32, 1.0), ("no batching (max 1)", 1, 0.0) })
                await Load(guard, prompts, name, maxBatch, window, requests, concurrency, cap.Token);
        }
    }

    static void Direct(IGuardScorer scorer, IReadOnlyList<string> prompts, int requests)
    {
        int n = Math.Min(requests, 1000);
        var texts = Enumerable.Range(0, n).Select(i => prompts[i % prompts.Count]).ToArray();
        scorer.Score(texts.Take(64).ToArray());
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i += 32) scorer.Score(texts.Skip(i).Take(32).ToArray());
        double batched = n / sw.Elapsed.TotalSeconds;
        sw.Restart();
        int single = Math.Min(n, 300);
        for (int i = 0; i < single; i++) scorer.Score(new[] { texts[i] });
        double one = single / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"in-process scoring: {batched:F0} texts/s in batches of 32, {one:F0} texts/s one at a time ({1000 / one:F2} ms per text)");
    }

    static async Task Load(LoadedGuard guard, IReadOnlyList<string> prompts, string name, int maxBatch, double windowMs,
        int requests, int concurrency, CancellationToken cap)
    {
        var options = new GuardServerOptions
        {
            Urls = new[] { "http://127.0.0.1:0" },
            MaxBatch = maxBatch,
            BatchWindow = TimeSpan.FromMilliseconds(windowMs),
            MaxTextsPerRequest = 64,
        };
        await using var app = GuardServer.Build(guard, options);
        await app.StartAsync(cap);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        if (!ListenUrls.IsLoopback(new Uri(address).Host)) throw new InvalidOperationException($"refusing to load a non-loopback address {address}");
        var batcher = app.Services.GetRequiredService<MicroBatcher>();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = new Uri(address),
            Timeout = TimeSpan.FromSeconds(60),
        };

        await Drive(http, prompts, Math.Min(200, requests), concurrency, cap); // warm-up
        long batches0 = batcher.Batches, texts0 = batcher.Texts;
        var sw = Stopwatch.StartNew();
        var (latencies, errors) = await Drive(http, prompts, requests, concurrency, cap);
        double seconds = sw.Elapsed.TotalSeconds;
        long batches = batcher.Batches - batches0, texts = batcher.Texts - texts0;
        await app.StopAsync(cap);

        Array.Sort(latencies);
        double P(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
        Console.WriteLine($"| {name} | {requests} | {concurrency} | {errors} | {P(0.5):F1} | {P(0.9):F1} | {P(0.99):F1} | {latencies.LastOrDefault():F1} | {requests / seconds:F0} | {batches} | {(batches == 0 ? 0 : (double)texts / batches):F1} |");
    }

    /// <summary>Sends <paramref name="count"/> requests from <paramref name="concurrency"/> workers; returns latencies (ms) and the error count.</summary>
    static async Task<(double[] Latencies, int Errors)> Drive(HttpClient http, IReadOnlyList<string> prompts, int count, int concurrency, CancellationToken cap)
    {
        var latencies = new double[count];
        int next = -1, errors = 0;
        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count && !cap.IsCancellationRequested)
            {
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    using var r = await http.PostAsJsonAsync("/v1/classify", new { text = prompts[i % prompts.Count] }, cap);
                    var body = await r.Content.ReadAsStringAsync(cap);
                    double score = JsonDocument.Parse(body).RootElement.GetProperty("results")[0].GetProperty("score").GetDouble();
                    if (!r.IsSuccessStatusCode || score is < 0 or > 1) Interlocked.Increment(ref errors);
                }
                catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or TaskCanceledException or InvalidOperationException)
                {
                    Interlocked.Increment(ref errors);
                }
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Worker)));
        return (latencies, errors);
    }

    /// <summary>
    /// What a user does: extract AdvBench + Alpaca prompts (MiniLM layer 4), train a TopK SAE on
    /// them, run <c>probe</c>; the probe folder goes to <paramref name="saveTo"/> (or a temporary folder).
    /// </summary>
    static (LoadedGuard, IReadOnlyList<string>) FitGuard(int threads, string? saveTo)
    {
        var data = SharedData();
        var harmful = CorpusReader.Read(Path.Combine(data, "advbench", "harmful_behaviors.csv"), new CorpusReadOptions { FixedLabel = Labels.Harmful }).ToList();
        var benign = CorpusReader.Read(Path.Combine(data, "refusal_direction_alpaca", "harmless_train.json"), new CorpusReadOptions { FixedLabel = Labels.Benign }).Take(350).ToList();
        var train = harmful.Take(250).Concat(benign.Take(250)).ToList();
        var heldOut = harmful.Skip(250).Take(100).Concat(benign.Skip(250).Take(100)).Select(d => d.Text).ToList();
        var work = Path.Combine(Path.GetTempPath(), "saeguard-serve-load-" + Environment.ProcessId);
        var probeDir = saveTo ?? Path.Combine(work, "probe");
        var sw = Stopwatch.StartNew();
        Common.ProgressBar.Silent = true;
        using (var source = BuiltInModels.MiniLm(BuiltInModels.MiniLmDefaultLayer, threads))
            Activations.Extractor.Run(source, train, Path.Combine(work, "acts"));
        var acts = Activations.ActivationDump.Open(Path.Combine(work, "acts"));
        Sae.SaeLensFormat.Save(Sae.Training.SaeTrainer.Train(acts, new Sae.Training.SaeTrainOptions { K = 16, Expansion = 4, Tokens = 200_000, BatchSize = 2048 }),
            Path.Combine(work, "sae"));
        Probes.ProbeTrainer.Run(new Probes.ProbeOptions { Acts = new[] { Path.Combine(work, "acts") }, Sae = Path.Combine(work, "sae"), Out = probeDir }, _ => { });
        Common.ProgressBar.Silent = false;
        var guard = GuardLoader.Load(probeDir, new Probes.GuardLoadOptions { Threads = threads });
        Console.WriteLine($"trained a probe folder in {sw.Elapsed.TotalSeconds:F1}s → {probeDir}: CV AUROC {guard.Scorer.Info.Metrics["auroc"]:F3}");
        return (guard, heldOut);
    }

    static IReadOnlyList<string> DefaultPrompts()
    {
        var data = SharedData();
        var harmful = CorpusReader.Read(Path.Combine(data, "advbench", "harmful_behaviors.csv")).Take(100);
        var benign = CorpusReader.Read(Path.Combine(data, "refusal_direction_alpaca", "harmless_val.json")).Take(100);
        return harmful.Concat(benign).Select(d => d.Text).ToList();
    }

    static string SharedData()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SaeGuard.sln"))) return Path.Combine(d.FullName, "..", "shared", "data");
        throw new InvalidOperationException("SaeGuard.sln not found above the benchmark binaries.");
    }

    static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
