using System.CommandLine;
using SaeGuard.Data.Guard;
using SaeGuard.Models;
using SaeGuard.Probes;

namespace SaeGuard.Cli.Commands;

static class GuardSetCommand
{
    public static Command Create()
    {
        var shared = new Option<string>("--shared") { Description = "The shared data folder (MANIFEST.md layout).", DefaultValueFactory = _ => "../shared/data" };
        var output = CommonOptions.Required("--out", "Output folder: guardset.csv (every row, with split and provenance) and train_windows.csv.");
        var seed = new Option<int>("--seed") { Description = "Seed of the split hash and the samples.", DefaultValueFactory = _ => 1 };
        var alpaca = new Option<int>("--alpaca") { Description = "Alpaca harmless_train instructions sampled as plain benign prompts.", DefaultValueFactory = _ => 1200 };
        var json = CommonOptions.Json();
        var cmd = new Command("guardset",
            "Build the guard sets: plain harmful/benign prompts, benign look-alikes, and harmful and benign requests wrapped in the same jailbreak templates, " +
            "split train/val/test by template and by base prompt; train_windows.csv is the training split cut into MiniLM-sized windows for 'extract'.")
        { shared, output, seed, alpaca, json };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var dir = p.GetValue(output)!;
            Directory.CreateDirectory(dir);
            var rows = GuardSetBuilder.Build(new GuardSetOptions { SharedData = p.GetValue(shared)!, Seed = p.GetValue(seed), AlpacaSample = p.GetValue(alpaca) });
            GuardSetFile.Write(Path.Combine(dir, "guardset.csv"), rows);
            var windows = GuardTrainingWindows.Expand(rows.Where(r => r.Split == GuardSplits.Train), BuiltInModels.MiniLmTokenizer(), BuiltInModels.MiniLmMaxLength);
            GuardSetFile.Write(Path.Combine(dir, "train_windows.csv"), windows);
            var counts = GuardKinds.All.ToDictionary(k => k, k => GuardSplits.All.ToDictionary(s => s, s => rows.Count(r => r.Kind == k && r.Split == s)));
            foreach (var (k, bySplit) in counts)
                Console.Error.WriteLine($"{k,-16} " + string.Join("  ", bySplit.Select(kv => $"{kv.Key} {kv.Value,5}")));
            Console.Error.WriteLine($"guardset: {rows.Count} rows, {windows.Count} training windows → {Path.GetFullPath(dir)}");
            if (p.GetValue(json)) CliRunner.PrintJson(new { rows = rows.Count, train_windows = windows.Count, counts });
            return 0;
        }));
        return cmd;
    }
}
