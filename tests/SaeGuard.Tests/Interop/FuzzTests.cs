using SaeGuard.Gguf.Testing;
using SaeGuard.Data.Fuzzing;
using SaeGuard.IO.Fuzzing;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Interop;

/// <summary>
/// Seeded mutation fuzzing of every parser on real fixtures (<see cref="ParserFuzzer"/>): each of
/// 500 mutants per parser must finish in under a second, allocate under 256 MiB, and either parse
/// or be refused with InvalidDataException / UserError. The counts must show that the mutator
/// reaches both sides: some mutants refused, and the unmutated seeds parse to their own digest.
/// bench mode `fuzz` runs the same with 10,000+ cases per parser (docs/BENCHMARKS.md).
/// </summary>
public class FuzzTests
{
    const int Cases = 500;
    const long MaxBytes = 256L << 20;

    public static readonly string[] Names = { "npy", "npz", "safetensors", "torch", "pickle", "csv", "jsonl", "json", "parquet", "gguf" };
    public static TheoryData<string> Targets() => new(Names);

    [Fact]
    public void Every_library_parser_is_fuzzed()
    {
        using var tmp = new TempDir();
        Assert.Equal(FuzzTargets.All(InteropFixtures.Dir, tmp.Path).Select(t => t.Name).Append("gguf"), Names);
    }

    static FuzzTarget Target(string name, TempDir tmp) => name == "gguf"
        ? GgufFuzzTarget.Create(tmp["seeds"])
        : FuzzTargets.All(InteropFixtures.Dir, tmp["seeds"]).Single(t => t.Name == name);

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_mutant_parses_or_is_refused_quickly_and_in_bounded_memory(string target)
    {
        using var tmp = new TempDir();
        var t = Target(target, tmp);
        // Parquet.Net loops forever on some damaged files; those reads are cut by ParquetFormat's 3 s budget (docs/BENCHMARKS.md)
        var limit = TimeSpan.FromSeconds(target == "parquet" ? 3.5 : 1);
        var report = ParserFuzzer.Run(t, Cases, seed: 12 + target.Length, tmp.Path, limit, MaxBytes);
        Assert.True(report.Ok, report + "\n" + string.Join("\n", report.Failures));
        Assert.Equal(Cases, report.Cases);
        Assert.True(report.Refused > Cases / 20, $"only {report.Refused} of {Cases} mutants were refused: the mutator is not reaching the checks ({report})");
        Assert.True(report.ParsedEqual + report.ParsedDifferent > 0 || target is "npz" or "parquet" or "pickle" or "torch",
            $"no mutant parsed at all: the parser refuses everything ({report})");
    }

    [Fact]
    public void The_fuzzer_itself_fails_on_a_crash_a_slow_case_and_a_big_allocation()
    {
        using var tmp = new TempDir();
        var seeds = new[] { new byte[] { 1, 2, 3, 4 } };
        var crash = ParserFuzzer.Run(new FuzzTarget("crash", ".bin", seeds, _ => throw new NullReferenceException("bug")), 3, 1, tmp.Path, TimeSpan.FromSeconds(1), MaxBytes);
        Assert.False(crash.Ok);
        Assert.Contains("NullReferenceException: bug", crash.Failures[0]);
        Assert.Contains("input (base64)", crash.Failures[0]);
        var slow = ParserFuzzer.Run(new FuzzTarget("slow", ".bin", seeds, p => { if (new FileInfo(p).Length != 4) Thread.Sleep(150); return ""; }), 10, 1, tmp.Path, TimeSpan.FromMilliseconds(100), MaxBytes);
        Assert.Contains(slow.Failures, f => f.Contains("over the 0.1 s limit"));
        var big = ParserFuzzer.Run(new FuzzTarget("big", ".bin", seeds, p => new FileInfo(p).Length != 4 ? new byte[8 << 20].Length.ToString() : ""), 10, 1, tmp.Path, TimeSpan.FromSeconds(1), 4 << 20);
        Assert.Contains(big.Failures, f => f.Contains("over the 4 MiB limit"));
        var fine = ParserFuzzer.Run(new FuzzTarget("fine", ".bin", seeds, p => throw new InvalidDataException("refused")), 5, 1, tmp.Path, TimeSpan.FromSeconds(1), MaxBytes);
        Assert.True(fine.Ok);
        Assert.Equal(5, fine.Refused);
    }
}
