using SaeGuard.Activations;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Scale;

/// <summary>
/// A small labelled corpus (AdvBench harmful + Self-Instruct benign) extracted once by a single
/// process and once by four worker processes run at the same time with <c>--shard i/4</c>, then merged.
/// </summary>
public sealed class ShardedCorpus : IDisposable
{
    public TempDir Tmp { get; } = new();
    public string Whole => Tmp["whole"];
    public string Merged => Tmp["merged"];
    public string Shard(int i) => Tmp[$"shard-{i}"];

    public static string[] CorpusArgs(int docsPerInput = 40) => new[]
    {
        "--input", TestPaths.SharedData("advbench", "harmful_behaviors.csv"), "--text-column", "goal", "--label", "harmful",
        "--input", TestPaths.SharedData("self_instruct", "seed_tasks.jsonl"), "--text-column", "instruction", "--label", "benign",
        "--max-docs", docsPerInput.ToString(), "--max-length", "48", "--dtype", "f32", "--max-shard-mb", "1",
    };

    public ShardedCorpus()
    {
        var whole = CliProcess.Run(new[] { "extract", "--out", Whole }.Concat(CorpusArgs()).ToArray());
        Assert.True(whole.Code == 0, whole.Err);
        var workers = Enumerable.Range(0, 4)
            .Select(i => CliProcess.Start(new[] { "extract", "--out", Shard(i), "--shard", $"{i}/4" }.Concat(CorpusArgs()).ToArray()))
            .ToList();
        foreach (var w in workers) { var r = CliProcess.Wait(w); Assert.True(r.Code == 0, r.Err); }
        var merge = CliProcess.Run("acts", "merge", Shard(2), Shard(0), Shard(3), Shard(1), "--out", Merged);
        Assert.True(merge.Code == 0, merge.Err);
    }

    /// <summary>Every row of a dump with its token index, in the dump's order.</summary>
    public static (float[] Data, int[] Docs, int[] Pos, int[] Tok, bool[] Special) Rows(string dir)
    {
        var dump = ActivationDump.Open(dir, verifyChecksums: true);
        var blocks = dump.ReadBlocks(100).ToList();
        return (blocks.SelectMany(b => b.Data).ToArray(), blocks.SelectMany(b => b.DocIds).ToArray(), blocks.SelectMany(b => b.Positions).ToArray(),
            blocks.SelectMany(b => b.TokenIds).ToArray(), blocks.SelectMany(b => b.IsSpecial).ToArray());
    }

    public void Dispose() => Tmp.Dispose();
}
