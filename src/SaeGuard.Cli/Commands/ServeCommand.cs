using System.CommandLine;
using SaeGuard.Common;
using SaeGuard.Server;
using SaeGuard.Serving;

namespace SaeGuard.Cli.Commands;

static class ServeCommand
{
    public static Command Create()
    {
        var probe = new Option<string?>("--probe") { Description = "Probe folder to serve (default: the built-in guard, docs/GUARD.md)." };
        var urls = new Option<string>("--urls") { Description = "Address(es) to listen on, ';'-separated (loopback only unless --allow-remote).", DefaultValueFactory = _ => GuardServerOptions.DefaultUrl };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow binding to non-loopback addresses (the API has no authentication)." };
        var report = new Option<string?>("--report") { Description = "Analysis report folder (saeguard analyze --out) to link from the feature browser." };
        var maxTexts = new Option<int>("--max-texts") { Description = "Most texts per /v1/classify request.", DefaultValueFactory = _ => 64 };
        var maxChars = new Option<int>("--max-chars") { Description = "Texts longer than this many characters are cut (reported in the response).", DefaultValueFactory = _ => 8000 };
        var maxBody = new Option<long>("--max-body") { Description = "Largest request body in bytes.", DefaultValueFactory = _ => 256 * 1024 };
        var maxBatch = new Option<int>("--max-batch") { Description = "Most texts scored in one model batch.", DefaultValueFactory = _ => 32 };
        var window = new Option<double>("--batch-window-ms") { Description = "How long to wait for more texts when a batch is not full.", DefaultValueFactory = _ => 1.0 };
        var threads = CommonOptions.Threads();
        var sae = new Option<string?>("--sae") { Description = "With --acts: serve the feature dashboard of this SAE (docs/FEATURES.md); --probe then only adds probe weights." };
        var acts = new Option<string?>("--acts") { Description = "With --sae: the activations dump the dashboard's pages are computed from." };
        var cmd = new Command("serve", "Serve a probe: HTTP API (/v1/classify, /v1/features, /v1/info, /healthz) and the feature browser at /; or, with --sae and --acts, an SAE's feature dashboard.")
        { probe, urls, allowRemote, report, maxTexts, maxChars, maxBody, maxBatch, window, threads, sae, acts };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            Positive(p.GetValue(maxTexts), "--max-texts");
            Positive(p.GetValue(maxChars), "--max-chars");
            Positive(p.GetValue(maxBody), "--max-body");
            Positive(p.GetValue(maxBatch), "--max-batch");
            if (p.GetValue(window) < 0) throw new UserError("--batch-window-ms must be 0 or more.");
            var reportDir = p.GetValue(report);
            if (reportDir != null && !Directory.Exists(reportDir)) throw new UserError($"Report folder not found: '{reportDir}'.");
            var options = new GuardServerOptions
            {
                Urls = ListenUrls.Parse(p.GetValue(urls)!, p.GetValue(allowRemote)),
                AllowRemote = p.GetValue(allowRemote),
                AnalysisReportDir = reportDir,
                MaxTextsPerRequest = p.GetValue(maxTexts),
                MaxTextChars = p.GetValue(maxChars),
                MaxBodyBytes = p.GetValue(maxBody),
                MaxBatch = p.GetValue(maxBatch),
                BatchWindow = TimeSpan.FromMilliseconds(p.GetValue(window)),
            };
            if (p.GetValue(sae) != null || p.GetValue(acts) != null)
                return FeatureServe.Run(p.GetValue(sae), p.GetValue(acts), p.GetValue(probe), options);
            using var guard = p.GetValue(probe) is string dir
                ? GuardLoader.Load(dir, new Probes.GuardLoadOptions { Threads = p.GetValue(threads), Models = CliModels.Sources })
                : GuardLoader.LoadDefault();
            var info = guard.Scorer.Info;
            return ServeHost.Run(quiet => GuardServer.Build(guard, options, quiet), options,
                $"{info.Model} layer {info.Layer}, SAE {info.Sae.DSae} features, threshold {info.Threshold:0.###}", "feature browser");
        }));
        return cmd;
    }

    static void Positive(long value, string name)
    {
        if (value <= 0) throw new UserError($"{name} must be positive, got {value}.");
    }
}
