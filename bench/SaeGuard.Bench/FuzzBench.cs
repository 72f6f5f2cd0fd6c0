using SaeGuard.Gguf.Testing;
using SaeGuard.Data.Fuzzing;
using SaeGuard.IO.Fuzzing;

namespace SaeGuard.Bench;

/// <summary>
/// bench mode `fuzz`: mutation fuzzing of every parser on the real fixtures, 10,000 cases each by
/// default; per case under 1 s and 256 MiB allocated, and a parse or a refusal (never another
/// exception). Prints one line per parser and exits non-zero on any failure.
/// Args: [--cases N] [--only NAME] [--seed S].
/// </summary>
public sealed class FuzzBench : IBenchmark
{
    public string Name => "fuzz";
    public string Description => "mutation-fuzz every parser (10,000 cases each): no crash, no hang, bounded memory";

    public void Run(string[] args)
    {
        int cases = 10_000, seed = 1;
        string? only = null;
        for (int i = 0; i < args.Length - 1; i++)
            switch (args[i])
            {
                case "--cases": cases = int.Parse(args[++i]); break;
                case "--only": only = args[++i]; break;
                case "--seed": seed = int.Parse(args[++i]); break;
            }
        var work = Path.Combine(Path.GetTempPath(), "saeguard-fuzz-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var fixtures = Path.Combine(RepoRoot(), "tests", "SaeGuard.Tests", "Fixtures", "interop");
            var targets = FuzzTargets.All(fixtures, Path.Combine(work, "seeds")).Append(GgufFuzzTarget.Create(Path.Combine(work, "seeds")))
                .Where(t => only == null || t.Name == only).ToList();
            int failed = 0;
            foreach (var t in targets)
            {
                var r = ParserFuzzer.Run(t, cases, seed, work, TimeSpan.FromSeconds(1), 256L << 20, maxFailures: 20);
                Console.WriteLine(r);
                foreach (var f in r.Failures) Console.WriteLine("  FAIL " + f);
                if (!r.Ok) failed++;
            }
            Console.WriteLine(failed == 0 ? $"fuzz: all {targets.Count} parsers passed" : $"fuzz: {failed} parser(s) FAILED");
            if (failed > 0) Environment.ExitCode = 1;
        }
        finally { try { Directory.Delete(work, true); } catch (IOException) { } }
    }

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SaeGuard.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("Run the bench from inside the SaeGuard repository.");
    }
}
