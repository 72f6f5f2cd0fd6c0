using System.CommandLine;
using SaeGuard.Analysis;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Sae.Device;

namespace SaeGuard.Cli.Commands;

static class AnalyzeCommand
{
    public static Command Create()
    {
        var dump = CommonOptions.Required("--dump", "Codes dump (SaeGuard or a folder of .npy/.npz/.safetensors chunks); with --sae, the activations dump to encode.");
        var output = CommonOptions.Required("--out", "Report folder: feature_stats.npz, activation_report/*.png, diagnosis.json, report.html.");
        var sae = new Option<string?>("--sae") { Description = "SAE folder (SAELens layout): encode the --dump activations on the fly and check H2/H3 against the SAE." };
        var sample = new Option<int>("--sample-tokens") { Description = "Tokens in the uniform (seeded) sample used for the PCA scatter and the L0 sample.", DefaultValueFactory = _ => 20000 };
        var pca = new Option<string>("--pca") { Description = "centre | standardise | raw: how codes are prepared for the PCA scatter (raw shows an offset-dominated PC1).", DefaultValueFactory = _ => "centre" };
        var includeSpecial = new Option<bool>("--include-special") { Description = "Also analyse special tokens ([CLS]/[SEP]/BOS), skipped by default." };
        var pcaMemory = new Option<int>("--pca-memory-mb") { Description = "Memory for the sampled code rows that feed the PCA.", DefaultValueFactory = _ => 256 };
        var device = new Option<string>("--device")
        {
            Description = "With --sae, where the SAE encodes: cpu | cuda | ilgpu-cpu (ILGPU's CPU accelerator, for checks) | auto (cuda when a CUDA device and driver are found, else cpu).",
            DefaultValueFactory = _ => SaeDevice.CpuName,
        };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var force = CommonOptions.Force(); var nonfinite = CommonOptions.NonFinite();
        var cmd = new Command("analyze", "Feature statistics, the seven plots and an automatic diagnosis (sparse/dense/suspicious; H1 weak sparsity, H2 bias/offset, H3 normalisation mismatch, AXIS wrong axis/tensor) of SAE codes.")
        { dump, output, sae, sample, pca, includeSpecial, pcaMemory, device, seed, threads, json, force, nonfinite };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            OutputPolicy.Folder(p.GetValue(output)!, "report", p.GetValue(force), p.GetValue(dump), p.GetValue(sae));
            NonFiniteRows.Use(p.GetValue(nonfinite));
            int n = p.GetValue(sample);
            if (n < 0) throw new UserError($"--sample-tokens must be ≥ 0, got {n}.");
            if (p.GetValue(pcaMemory) <= 0) throw new UserError("--pca-memory-mb must be positive.");
            var mode = AnalysisRunner.ParsePcaMode(p.GetValue(pca)!);
            var options = new AnalysisOptions
            {
                SampleTokens = n, Seed = p.GetValue(seed), Threads = p.GetValue(threads),
                PcaMemoryBytes = (long)p.GetValue(pcaMemory) << 20,
            };
            var dev = SaeDevice.Resolve(p.GetValue(device)).Name;
            if (dev != SaeDevice.CpuName && p.GetValue(sae) == null) throw new UserError($"--device {dev} encodes with an SAE: give --sae (a codes dump needs no encoding).");
            var input = AnalysisInput.Open(p.GetValue(dump)!, p.GetValue(sae), p.GetValue(includeSpecial), options.Seed, dev);
            using var encoder = input.Encoder;
            var result = AnalysisRunner.Run(input, options, mode);
            var outDir = p.GetValue(output)!;
            AnalysisReport.Write(outDir, result);
            if (NonFiniteRows.Summary("analyze") is { } dropped) Console.Error.WriteLine(dropped);
            var d = result.Diagnosis;
            var supported = d.Supported.Select(h => h.Id).ToList();
            Console.Error.WriteLine($"analyze: {result.Stats.Tokens:N0} tokens × {result.Stats.Width:N0} features in {result.Seconds:F1}s → {Path.GetFullPath(outDir)}");
            Console.Error.WriteLine($"analyze: verdict {d.Verdict}; supported: {(supported.Count > 0 ? string.Join(", ", supported) : "none")}. {d.VerdictReason}");
            if (p.GetValue(json))
                CliRunner.PrintJson(new
                {
                    verdict = d.Verdict, supported, tokens = result.Stats.Tokens, width = result.Stats.Width,
                    l0_mean = result.Stats.L0.Mean, dead = result.Stats.Dead, always_on_099 = result.Stats.AlwaysOn99,
                    seconds = Math.Round(result.Seconds, 3), device = result.Facts.Device, out_dir = Path.GetFullPath(outDir),
                });
            return 0;
        }));
        return cmd;
    }
}
