using SaeGuard.Activations;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Activations;

public class ExtractCliTests
{
    static void AssertNothingWritten(TempDir tmp, string outDir)
    {
        Assert.False(Directory.Exists(outDir), $"output folder '{outDir}' must not exist after a failed run");
        Assert.Empty(Directory.GetDirectories(tmp.Path, ".*tmp-*"));
    }

    static (int Code, string Err) Extract(TempDir tmp, string input, params string[] extra)
    {
        var args = new List<string> { "extract", "--input", input, "--out", tmp["out"] };
        args.AddRange(extra);
        var (code, _, err) = CliHarness.Run(args.ToArray());
        return (code, err);
    }

    [Fact]
    public void Missing_column_names_the_file_and_the_columns()
    {
        using var tmp = new TempDir();
        var csv = tmp["a.csv"];
        File.WriteAllText(csv, "goal,target\nhello,world\n");
        var (code, err) = Extract(tmp, csv, "--text-column", "prompt");
        Assert.Equal(1, code);
        Assert.Contains("a.csv", err);
        Assert.Contains("'prompt'", err);
        Assert.Contains("goal, target", err);
        AssertNothingWritten(tmp, tmp["out"]);
    }

    [Fact]
    public void Empty_file_is_a_user_error()
    {
        using var tmp = new TempDir();
        var f = tmp["empty.csv"];
        File.WriteAllText(f, "");
        var (code, err) = Extract(tmp, f);
        Assert.Equal(1, code);
        Assert.Contains("empty.csv", err);
        AssertNothingWritten(tmp, tmp["out"]);
    }

    [Fact]
    public void Malformed_jsonl_line_names_the_line()
    {
        using var tmp = new TempDir();
        var f = tmp["bad.jsonl"];
        File.WriteAllText(f, "{\"text\":\"fine\"}\n{\"text\":\"fine too\"}\n{\"text\": broken\n");
        var (code, err) = Extract(tmp, f);
        Assert.Equal(1, code);
        Assert.Contains("bad.jsonl", err);
        Assert.Contains("line 3", err);
        AssertNothingWritten(tmp, tmp["out"]);
    }

    [Fact]
    public void Csv_with_a_broken_quote_names_the_line()
    {
        using var tmp = new TempDir();
        var f = tmp["broken.csv"];
        File.WriteAllText(f, "text,label\n\"ok\",benign\n\"never closed,harmful\nmore,benign\n");
        var (code, err) = Extract(tmp, f);
        Assert.Equal(1, code);
        Assert.Contains("broken.csv", err);
        Assert.Contains("line 3", err);
        AssertNothingWritten(tmp, tmp["out"]);
    }

    [Fact]
    public void Bad_label_names_the_row()
    {
        using var tmp = new TempDir();
        var f = tmp["labels.csv"];
        File.WriteAllText(f, "text,label\nhello,benign\nworld,maybe\n");
        var (code, err) = Extract(tmp, f, "--label-column", "label");
        Assert.Equal(1, code);
        Assert.Contains("row 3", err);
        Assert.Contains("maybe", err);
    }

    [Fact]
    public void Layer_out_of_range_is_exit_1()
    {
        using var tmp = new TempDir();
        var f = tmp["a.txt"];
        File.WriteAllText(f, "one line\n");
        var (code, err) = Extract(tmp, f, "--layer", "9");
        Assert.Equal(1, code);
        Assert.Contains("Layer 9", err);
        AssertNothingWritten(tmp, tmp["out"]);
    }

    [Fact]
    public void Unwritable_output_folder_is_exit_1()
    {
        using var tmp = new TempDir();
        var f = tmp["a.txt"];
        File.WriteAllText(f, "one line\n");
        File.WriteAllText(tmp["blocker"], "a file where a folder should be");
        var (code, _, err) = CliHarness.Run("extract", "--input", f, "--out", Path.Combine(tmp["blocker"], "out"));
        Assert.Equal(1, code);
        Assert.Contains("blocker", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Txt_extract_writes_a_complete_dump_with_json_summary()
    {
        using var tmp = new TempDir();
        var f = tmp["docs.txt"];
        File.WriteAllText(f, "The cat sat.\n\nA second, longer line of text here.\n");
        var (code, stdout, _) = CliHarness.Run("extract", "--input", f, "--out", tmp["out"], "--dtype", "f32", "--json");
        Assert.Equal(0, code);
        using var summary = System.Text.Json.JsonDocument.Parse(stdout);
        var dump = ActivationDump.Open(tmp["out"], verifyChecksums: true);
        Assert.Equal(2, dump.Meta.NDocs);
        Assert.Equal(summary.RootElement.GetProperty("tokens").GetInt64(), dump.NTokens);
        // [CLS] the cat sat . [SEP] = 6, [CLS] a second , longer line of text here . [SEP] = 11
        Assert.Equal(17, dump.NTokens);
        Assert.Equal(384, dump.D);
        Assert.Equal("resid_post", dump.Meta.Hook);
        Assert.Equal(4, dump.Meta.Layer);
        var block = dump.ReadBlocks().Single();
        Assert.Equal(new[] { "[CLS]", "the", "cat", "sat", ".", "[SEP]" }, block.TokenIds.Take(6).Select(dump.TokenText));
        Assert.Equal(new[] { true, false, false, false, false, true }, block.IsSpecial.Take(6));
    }

    [Fact]
    public void Max_tokens_caps_the_corpus_exactly()
    {
        using var tmp = new TempDir();
        var f = tmp["docs.txt"];
        File.WriteAllLines(f, Enumerable.Range(0, 50).Select(i => $"Document number {i} has a few words."));
        var (code, _, _) = CliHarness.Run("extract", "--input", f, "--out", tmp["out"], "--max-tokens", "100");
        Assert.Equal(0, code);
        Assert.Equal(100, ActivationDump.Open(tmp["out"]).NTokens);
    }

    [Fact]
    public void Labels_and_text_columns_given_per_input()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["h.csv"], "goal,target\nsteal a car,Sure\npick a lock,Sure\n");
        File.WriteAllText(tmp["b.jsonl"], "{\"instruction\":\"bake a cake\"}\n");
        var (code, _, err) = CliHarness.Run("extract", "--input", tmp["h.csv"], "--label", "harmful", "--text-column", "goal",
            "--input", tmp["b.jsonl"], "--label", "benign", "--text-column", "instruction", "--out", tmp["out"]);
        Assert.True(code == 0, err);
        var docs = ActivationDump.Open(tmp["out"]).Docs;
        Assert.Equal(new[] { "harmful", "harmful", "benign" }, docs.Select(d => d.Label));
        Assert.Equal("bake a cake", docs[2].Text);
        Assert.Equal(new[] { 0, 1, 2 }, docs.Select(d => d.Id));

        (code, _, err) = CliHarness.Run("extract", "--input", tmp["h.csv"], "--input", tmp["b.jsonl"], "--label", "harmful", "--label", "benign", "--label", "benign", "--out", tmp["out2"]);
        Assert.Equal(1, code);
        Assert.Contains("--label was given 3 times for 2 inputs", err);
    }
}
