using System.CommandLine;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Sae.Training;

namespace SaeGuard.Cli.Commands;

static class TrainCommand
{
    public static Command Create()
    {
        var acts = CommonOptions.Required("--acts", "Activations dump folder (from `extract`).");
        var output = CommonOptions.Required("--out", "Output SAE folder (SAELens layout) with metrics.jsonl and checkpoints/.");
        var arch = new Option<string>("--arch") { Description = "topk | batchtopk | jumprelu | relu (ReLU + L1).", DefaultValueFactory = _ => "topk" };
        var k = new Option<string>("--k") { Description = "Active latents per token (topk; average for batchtopk). A list (16,32,64,128) trains the family in one pass into OUT/k16, OUT/k32, …", DefaultValueFactory = _ => "32" };
        var expansion = new Option<int>("--expansion") { Description = "Latents = expansion × d_in.", DefaultValueFactory = _ => 8 };
        var latents = new Option<int>("--latents") { Description = "Number of latents (overrides --expansion).", DefaultValueFactory = _ => 0 };
        var l1 = new Option<string?>("--l1") { Description = "Sparsity coefficient: L1 for relu (default 2; try 0.01 to reproduce dense codes), L0 for jumprelu (default 1). A list (0.5,1,2) trains the family in one pass into OUT/l1_0.5, …" };
        var tokens = new Option<long>("--tokens") { Description = "Training tokens (0 = one pass over the dump; more = several epochs).", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "Tokens per step.", DefaultValueFactory = _ => 4096 };
        var lr = new Option<double?>("--lr") { Description = "Adam learning rate (default 2e-4 / sqrt(latents / 2^14))." };
        var seed = CommonOptions.Seed();
        var resume = new Option<bool>("--resume") { Description = "Continue from the latest checkpoint in OUT/checkpoints." };
        var ckEvery = new Option<long>("--checkpoint-every") { Description = "Checkpoint every N tokens (0 = every quarter of the run; -1 = never).", DefaultValueFactory = _ => 0 };
        var deadAfter = new Option<long>("--dead-after") { Description = "Tokens without firing before a latent counts as dead (0 = min(10M, run/4)).", DefaultValueFactory = _ => 0 };
        var logEvery = new Option<int>("--log-every") { Description = "Steps per metrics line (0 = about 50 lines).", DefaultValueFactory = _ => 0 };
        var includeSpecial = new Option<bool>("--include-special") { Description = "Also train on [CLS]/[SEP]/BOS/pad tokens." };
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var cmd = new Command("train", "Train a sparse autoencoder on an activations dump (TopK/AuxK by default).")
        { acts, output, arch, k, expansion, latents, l1, tokens, batch, lr, seed, resume, ckEvery, deadAfter, logEvery, includeSpecial, threads, json };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var dump = ActivationDump.Open(p.GetValue(acts)!);
            var a = p.GetValue(arch)!.ToLowerInvariant();
            if (a == "standard") a = "relu";
            var ks = FamilyOptions.Ints("--k", p.GetValue(k)!);
            var l1s = FamilyOptions.Doubles("--l1", p.GetValue(l1));
            var options = new SaeTrainOptions
            {
                Arch = a, K = ks[0], Expansion = p.GetValue(expansion), Latents = p.GetValue(latents), L1 = l1s.Length > 0 ? l1s[0] : null,
                Tokens = p.GetValue(tokens), BatchSize = p.GetValue(batch), Lr = p.GetValue(lr), Seed = p.GetValue(seed),
                DeadAfterTokens = p.GetValue(deadAfter), LogEvery = p.GetValue(logEvery), IncludeSpecialTokens = p.GetValue(includeSpecial),
                Threads = p.GetValue(threads),
            };
            SaeTrainer.Validate(options, dump.D);
            long every = p.GetValue(ckEvery);
            long runTokens = options.Tokens > 0 ? options.Tokens : dump.NTokens;
            options = options with { CheckpointEvery = every < 0 ? 0 : every > 0 ? every : Math.Max(options.BatchSize, runTokens / 4) };
            var outDir = p.GetValue(output)!;
            if (ks.Length > 1 || l1s.Length > 1)
            {
                if (p.GetValue(resume)) throw new UserError("--resume does not apply to a family (several --k or --l1 values): family runs keep no checkpoint.");
                return FamilyOptions.Train(dump, options, ks, l1s, outDir, p.GetValue(json));
            }
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            SaeTrainResult r;
            try { r = SaeTrainer.Run(dump, options, outDir, p.GetValue(resume), cts.Token); }
            finally { Console.CancelKeyPress -= onCancel; }
            var f = r.Final;
            if (!r.Completed)
            {
                Console.Error.WriteLine($"train: interrupted after {r.TokensSeen:N0} tokens; no SAE written yet, checkpoint in {Path.Combine(outDir, "checkpoints")}. Continue with the same command and --resume.");
                if (p.GetValue(json)) CliRunner.PrintJson(new { completed = false, tokens_seen = r.TokensSeen, out_dir = outDir });
                return 1;
            }
            foreach (var w in r.Warnings) Console.Error.WriteLine($"WARNING: {w}");
            var cfg = r.Model.Config;
            Console.Error.WriteLine(
                $"train: {options.Arch} {cfg.DIn}→{cfg.DSae}" + (cfg.Architecture == "topk" ? $" k={cfg.K}" : "") +
                $", {r.TokensSeen:N0} tokens in {r.Seconds:F1}s ({f.TokensPerS:N0} tok/s) | {f.Split}: EV {f.ExplainedVariance:F4}, nmse {f.Nmse:F4}, L0 {f.L0:F1}, " +
                $"dead {100 * f.DeadFraction:F2}%, >10% {100 * f.FreqOver10Pct:F2}%, l2 ratio {f.L2Ratio:F3} → {outDir}");
            if (p.GetValue(json))
                CliRunner.PrintJson(new
                {
                    completed = true, f.Split, tokens_seen = f.TokensSeen, f.Mse, explained_variance = f.ExplainedVariance, f.Nmse, l0 = f.L0,
                    dead_fraction = f.DeadFraction, freq_over_1pct = f.FreqOver1Pct, freq_over_10pct = f.FreqOver10Pct, l2_ratio = f.L2Ratio,
                    aux_loss = f.AuxLoss, tokens_per_s = f.TokensPerS, max_feature_frequency = f.MaxFeatureFrequency, features_over_50pct = f.FeaturesOver50Pct,
                    arch = options.Arch, saved_architecture = cfg.Architecture, d_in = cfg.DIn, d_sae = cfg.DSae, k = options.K, steps = r.Steps,
                    seconds = r.Seconds, gemm_seconds = r.GemmSeconds, out_dir = outDir, warnings = r.Warnings,
                });
            return 0;
        }));
        return cmd;
    }
}
