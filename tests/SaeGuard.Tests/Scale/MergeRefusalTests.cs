using SaeGuard.Activations;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Scale;

/// <summary>acts merge refuses what cannot be one dump, naming the field; nothing is written then.</summary>
public class MergeRefusalTests
{
    static string[] Corpus(int docs = 12) => new[]
    {
        "--input", TestPaths.SharedData("gptfuzz", "question_list.csv"), "--text-column", "text", "--max-docs", docs.ToString(), "--max-length", "24",
    };

    static string Extract(TempDir tmp, string name, params string[] extra)
    {
        var (code, _, err) = CliHarness.Run(new[] { "extract", "--out", tmp[name] }.Concat(Corpus()).Concat(extra).ToArray());
        Assert.True(code == 0, err);
        return tmp[name];
    }

    static void AssertRefused(TempDir tmp, string field, params string[] dirs)
    {
        var (code, _, err) = CliHarness.Run(new[] { "acts", "merge" }.Concat(dirs).Concat(new[] { "--out", tmp["merged"] }).ToArray());
        Assert.True(code == 1, $"expected exit 1, got {code}: {err}");
        Assert.Contains(field, err);
        Assert.False(Directory.Exists(tmp["merged"]));
        Assert.Empty(Directory.GetDirectories(tmp.Path, ".merged.tmp-*"));
    }

    [Fact]
    public void Mismatched_shards_are_refused_naming_the_field()
    {
        using var tmp = new TempDir();
        var s0 = Extract(tmp, "s0", "--shard", "0/2");
        var s1 = Extract(tmp, "s1", "--shard", "1/2");
        var layer3 = Extract(tmp, "l3", "--shard", "1/2", "--layer", "3");
        var f32 = Extract(tmp, "f32", "--shard", "1/2", "--dtype", "f32");
        var otherJob = Extract(tmp, "job", "--shard", "1/2", "--label", "harmful");
        AssertRefused(tmp, "layer", s0, layer3);
        AssertRefused(tmp, "dtype", s0, f32);
        AssertRefused(tmp, "shard.job", s0, otherJob);
        AssertRefused(tmp, "missing", s0);
        AssertRefused(tmp, "given twice", s0, s0, s1);

        // a changed byte in a shard fails its sha256
        var copy = tmp["s1-copy"];
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(s1)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var shard = Directory.GetFiles(copy, "*.safetensors")[0];
        var bytes = File.ReadAllBytes(shard); bytes[^3] ^= 0x40; File.WriteAllBytes(shard, bytes);
        AssertRefused(tmp, "sha256", s0, copy);

        var (code, _, err) = CliHarness.Run("acts", "merge", s0, s1, "--out", tmp["merged"]);
        Assert.True(code == 0, err);
    }

    [Fact]
    public void Width_tokenizer_and_overlapping_doc_ids_are_refused()
    {
        using var tmp = new TempDir();
        var a = Extract(tmp, "a");
        var b = Extract(tmp, "b");
        AssertRefused(tmp, "doc ids", a, b);             // two whole extracts both number their docs from 0

        var wide = tmp["wide"];
        Directory.CreateDirectory(wide);
        foreach (var f in Directory.GetFiles(b)) File.Copy(f, Path.Combine(wide, Path.GetFileName(f)));
        var meta = DumpMeta.Load(wide);
        (meta with { D = 768 }).Save(wide);
        AssertRefused(tmp, "d =", a, wide);

        var vocab = tmp["vocab"];
        Directory.CreateDirectory(vocab);
        foreach (var f in Directory.GetFiles(b)) File.Copy(f, Path.Combine(vocab, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(vocab, "vocab.json"), "[\"x\"]");
        AssertRefused(tmp, "tokenizer", a, vocab);

        AssertRefused(tmp, "lies inside the input", a, tmp.Path);
    }

    [Fact]
    public void Shard_option_is_checked()
    {
        using var tmp = new TempDir();
        foreach (var bad in new[] { "4/4", "-1/4", "1", "a/b", "0/0" })
        {
            var (code, _, err) = CliHarness.Run(new[] { "extract", "--out", tmp["x"], "--shard", bad }.Concat(Corpus()).ToArray());
            Assert.Equal(1, code);
            Assert.Contains("--shard", err);
        }
    }
}
