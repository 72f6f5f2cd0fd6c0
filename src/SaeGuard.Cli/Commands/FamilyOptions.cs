using System.Globalization;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Sae.Training;

namespace SaeGuard.Cli.Commands;

/// <summary>train's list-valued --k / --l1: an SAE family trained in one pass (<see cref="SaeFamilyTrainer"/>).</summary>
static class FamilyOptions
{
    public static int[] Ints(string name, string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = parts.Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) ? x
            : throw new UserError($"{name} takes integers separated by commas (e.g. 16,32,64), got '{v}'.")).ToArray();
        if (values.Length == 0) throw new UserError($"{name} needs a value.");
        if (values.Distinct().Count() != values.Length) throw new UserError($"{name} lists a value twice: '{text}'.");
        return values;
    }

    public static double[] Doubles(string name, string? text)
    {
        if (text == null) return Array.Empty<double>();
        var values = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x
                : throw new UserError($"{name} takes numbers separated by commas (e.g. 0.5,1,2), got '{v}'.")).ToArray();
        if (values.Distinct().Count() != values.Length) throw new UserError($"{name} lists a value twice: '{text}'.");
        return values;
    }

    public static int Train(ActivationDump dump, SaeTrainOptions baseOptions, int[] ks, double[] l1s, string outDir, bool json)
    {
        if (ks.Length > 1 && l1s.Length > 1) throw new UserError("Give a list for --k or for --l1, not both.");
        var members = ks.Length > 1
            ? ks.Select(k => (Options: baseOptions with { K = k }, Dir: Path.Combine(outDir, $"k{k}"))).ToList()
            : l1s.Select(c => (Options: baseOptions with { L1 = c }, Dir: Path.Combine(outDir, "l1_" + c.ToString("R", CultureInfo.InvariantCulture)))).ToList();
        if (ks.Length > 1 && baseOptions.Arch is not ("topk" or "batchtopk")) throw new UserError($"A list of --k values needs --arch topk or batchtopk, not {baseOptions.Arch}.");
        if (l1s.Length > 1 && baseOptions.Arch is not ("relu" or "jumprelu")) throw new UserError($"A list of --l1 values needs --arch relu or jumprelu, not {baseOptions.Arch}.");
        foreach (var m in members) SaeTrainer.Validate(m.Options, dump.D);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = SaeFamilyTrainer.Run(dump, members.Select(m => m.Options).ToList(), members.Select(m => (string?)m.Dir).ToList());
        for (int i = 0; i < members.Count; i++)
        {
            var f = results[i].Final;
            foreach (var w in results[i].Warnings) Console.Error.WriteLine($"WARNING ({Path.GetFileName(members[i].Dir)}): {w}");
            Console.Error.WriteLine($"train: {Path.GetFileName(members[i].Dir)}: {f.Split}: EV {f.ExplainedVariance:F4}, nmse {f.Nmse:F4}, L0 {f.L0:F1}, dead {100 * f.DeadFraction:F2}% → {members[i].Dir}");
        }
        Console.Error.WriteLine($"train: family of {members.Count} SAEs, {results[0].TokensSeen:N0} tokens each, in {clock.Elapsed.TotalSeconds:F1}s (one read of the data)");
        if (json)
            CliRunner.PrintJson(new
            {
                completed = true, seconds = clock.Elapsed.TotalSeconds,
                members = results.Select((r, i) => new
                {
                    out_dir = members[i].Dir, k = members[i].Options.K, l1 = members[i].Options.L1, explained_variance = r.Final.ExplainedVariance,
                    l0 = r.Final.L0, nmse = r.Final.Nmse, dead_fraction = r.Final.DeadFraction, tokens_seen = r.TokensSeen,
                }),
            });
        return 0;
    }
}
