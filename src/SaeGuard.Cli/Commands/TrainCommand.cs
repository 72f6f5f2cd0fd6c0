using System.CommandLine;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Sae.Device;
using SaeGuard.Sae.Training;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Cli.Commands;

static class TrainCommand
{
    public static Command Create()
    {
        var acts = new Option<string?>("--acts") { Description = "Activations dump folder (from `extract`, or merged by `acts merge`)." };
        var corpus = new CorpusCliOptions(required: false, modelDefault: null);
        var buffer = new Option<int>("--buffer-batches") { Description = "With --model: batches held in the shuffle buffer (half is handed out, then refilled).", DefaultValueFactory = _ => 20 };
        var output = CommonOptions.Required("--out", "Output SAE folder (SAELens layout) with metrics.jsonl and checkpoints/.");
        var arch = new Option<string>("--arch")
        {
            Description = string.Join(" | ", SaeArchitectures.All.Select(a => $"{a.Name} ({a.Description})")) + ".",
            DefaultValueFactory = _ => SaeArchitectures.Default.Name,
        };
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
        var device = new Option<string>("--device")
        {
            Description = "Where training runs: cpu | cuda | ilgpu-cpu (ILGPU's CPU accelerator, for checks) | auto (cuda when a CUDA device and driver are found, else cpu).",
            DefaultValueFactory = _ => SaeDevice.CpuName,
        };
        var json = CommonOptions.Json();
        var force = CommonOptions.Force(); var nonfinite = CommonOptions.NonFinite();
        var cmd = new Command("train", "Train a sparse autoencoder on an activations dump, or straight from a model over a corpus (--model M --input CORPUS; nothing but the SAE is written).")
        { acts, output, arch, k, expansion, latents, l1, tokens, batch, lr, seed, resume, ckEvery, deadAfter, logEvery, includeSpecial, threads, device, json, buffer, force, nonfinite };
        corpus.AddTo(cmd);
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var fromModel = p.GetValue(corpus.Model) != null;
            if (fromModel == (p.GetValue(acts) != null))
                throw new UserError("train needs either --acts DIR (a dump) or --model M --input CORPUS (straight from the model), not both.");
            if (fromModel && (p.GetValue(corpus.Input) ?? Array.Empty<string>()).Length == 0)
                throw new UserError("train --model needs --input CORPUS (the texts to run through the model).");
            if (p.GetValue(buffer) < 2) throw new UserError($"--buffer-batches must be at least 2, got {p.GetValue(buffer)}.");
            OutputPolicy.FolderInPlace(p.GetValue(output)!, "sae", p.GetValue(force), claimNow: false,
                [p.GetValue(acts), .. fromModel ? p.GetValue(corpus.Input)! : Array.Empty<string>(), fromModel ? p.GetValue(corpus.Model) : null]);
            NonFiniteRows.Use(p.GetValue(nonfinite));
            using var source = fromModel ? corpus.OpenSource(p, p.GetValue(threads)) : null;
            var actsDir = p.GetValue(acts);
            var foreign = !fromModel && SaeGuard.Interop.ForeignDump.LooksLikeForeignDump(actsDir!) ? SaeGuard.Interop.ForeignDump.Open(actsDir!) : null;
            var dump = fromModel || foreign != null ? null : ActivationDump.Open(actsDir!);
            ModelActivationStore? store = null;
            if (fromModel)
            {
                var (open, files, key) = corpus.Corpus(p);
                store = new ModelActivationStore(source!, open, new ModelStoreOptions
                {
                    BufferRows = (int)Math.Min(int.MaxValue / Math.Max(1, source!.Width), (long)p.GetValue(buffer) * p.GetValue(batch)),
                    MaxTokens = p.GetValue(corpus.MaxTokens), CorpusKey = ShardedExtraction.JobKey(files, source, key),
                });
            }
            TrainData data = store != null ? store : foreign != null ? new SaeGuard.Interop.ForeignDumpTrainData(foreign) : new DumpTrainData(dump!);
            if (foreign != null) Console.Error.WriteLine($"train: foreign dump, {foreign.Chunks.Count} chunks, {foreign.Rows:N0} rows × {foreign.Width}, {foreign.Orientation}");
            var a = SaeArchitectures.Canonical(p.GetValue(arch)!.ToLowerInvariant());
            var ks = FamilyOptions.Ints("--k", p.GetValue(k)!);
            var l1s = FamilyOptions.Doubles("--l1", p.GetValue(l1));
            var options = new SaeTrainOptions
            {
                Arch = a, K = ks[0], Expansion = p.GetValue(expansion), Latents = p.GetValue(latents), L1 = l1s.Length > 0 ? l1s[0] : null,
                Tokens = p.GetValue(tokens), BatchSize = p.GetValue(batch), Lr = p.GetValue(lr), Seed = p.GetValue(seed),
                DeadAfterTokens = p.GetValue(deadAfter), LogEvery = p.GetValue(logEvery), IncludeSpecialTokens = p.GetValue(includeSpecial),
                Threads = p.GetValue(threads), Device = SaeDevice.Resolve(p.GetValue(device)).Kind == SaeDeviceKind.Cpu ? SaeDevice.CpuName : p.GetValue(device)!,
            };
            SaeTrainer.Validate(options, data.D);
            long every = p.GetValue(ckEvery);
            long runTokens = options.Tokens > 0 ? options.Tokens : data.Rows;
            options = options with { CheckpointEvery = every < 0 ? 0 : every > 0 ? every : Math.Max(options.BatchSize, runTokens / 4) };
            var outDir = p.GetValue(output)!;
            if (ks.Length > 1 || l1s.Length > 1)
            {
                if (p.GetValue(resume)) throw new UserError("--resume does not apply to a family (several --k or --l1 values): family runs keep no checkpoint.");
                if (dump == null) throw new UserError("A family (several --k or --l1 values) trains from a SaeGuard dump (--acts DIR); train each member alone from a model or a foreign dump.");
                return FamilyOptions.Train(dump, options, ks, l1s, outDir, p.GetValue(json));
            }
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            SaeTrainResult r;
            try
            {
                r = dump != null ? SaeTrainer.Run(dump, options, outDir, p.GetValue(resume), cts.Token)
                    : SaeTrainer.Run(data, options, outDir, p.GetValue(resume), cts.Token,
                        store?.Metadata() ?? new SaeGuard.Sae.SaeMetadata { Dataset = Path.GetFullPath(actsDir!) });
            }
            finally { Console.CancelKeyPress -= onCancel; }
            if (NonFiniteRows.Summary("train") is { } dropped) Console.Error.WriteLine(dropped);
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
                $"train: {options.Arch} {cfg.DIn}→{cfg.DSae}" + (r.Model.Arch.FixedKPerToken ? $" k={cfg.K}" : "") +
                $", {r.TokensSeen:N0} tokens in {r.Seconds:F1}s ({f.TokensPerS:N0} tok/s) | {f.Split}: EV {f.ExplainedVariance:F4}, nmse {f.Nmse:F4}, L0 {f.L0:F1}, " +
                $"dead {100 * f.DeadFraction:F2}%, >10% {100 * f.FreqOver10Pct:F2}%, l2 ratio {f.L2Ratio:F3} → {outDir}");
            if (p.GetValue(json))
                CliRunner.PrintJson(new
                {
                    completed = true, f.Split, tokens_seen = f.TokensSeen, f.Mse, explained_variance = f.ExplainedVariance, f.Nmse, l0 = f.L0,
                    dead_fraction = f.DeadFraction, freq_over_1pct = f.FreqOver1Pct, freq_over_10pct = f.FreqOver10Pct, l2_ratio = f.L2Ratio,
                    aux_loss = f.AuxLoss, tokens_per_s = f.TokensPerS, max_feature_frequency = f.MaxFeatureFrequency, features_over_50pct = f.FeaturesOver50Pct,
                    arch = options.Arch, saved_architecture = cfg.Architecture, d_in = cfg.DIn, d_sae = cfg.DSae, k = options.K, steps = r.Steps,
                    seconds = r.Seconds, gemm_seconds = r.GemmSeconds, device = r.Device, out_dir = outDir, warnings = r.Warnings,
                });
            return 0;
        }));
        return cmd;
    }
}
