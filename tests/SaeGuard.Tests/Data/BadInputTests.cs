using Parquet.Schema;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Data;

/// <summary>
/// Broken inputs given to `data mix` exit with code 1, a message naming the file and the row or
/// column, and leave no output behind.
/// </summary>
public class BadInputTests
{
    /// <summary>A recipe mixing a good source with <paramref name="bad"/>; runs `data mix` into a fresh folder.</summary>
    static (int Code, string Err, bool Wrote) MixWith(TempDir tmp, string bad, string format, string extra = "")
    {
        var recipe = tmp["recipe.yaml"];
        File.WriteAllText(recipe, $"""
            seed: 1
            sources:
              - name: good
                path: {TestPaths.SharedData("advbench", "harmful_behaviors.csv")}
                share: 0.5
              - name: bad
                path: {bad}
                format: {format}
                share: 0.5
            {extra}
            """);
        var outDir = tmp["out"];
        var (code, _, err) = CliHarness.Run("data", "mix", "--recipe", recipe, "--out", outDir);
        return (code, err, Directory.Exists(outDir));
    }

    [Fact]
    public void Json_that_is_not_ShareGPT_shaped()
    {
        using var tmp = new TempDir();
        var bad = tmp["alpaca_like.json"];
        File.WriteAllText(bad, """[{"instruction": "Name a colour.", "category": null}]""");
        var (code, err, wrote) = MixWith(tmp, bad, "sharegpt");
        Assert.Equal(1, code);
        Assert.Contains(bad, err);
        Assert.Contains("item 1", err);
        Assert.Contains("'conversations'", err);
        Assert.False(wrote);
    }

    [Fact]
    public void ShareGpt_turn_without_from()
    {
        using var tmp = new TempDir();
        var bad = tmp["chat.json"];
        File.WriteAllText(bad, """[{"id": "x", "conversations": [{"from": "human", "value": "ok"}]}, {"id": "y", "conversations": [{"value": "who?"}]}]""");
        var (code, err, wrote) = MixWith(tmp, bad, "sharegpt");
        Assert.Equal(1, code);
        Assert.Contains(bad, err);
        Assert.Contains("item 2, turn 1", err);
        Assert.Contains("'from'", err);
        Assert.False(wrote);
    }

    [Fact]
    public void Csv_without_the_named_column()
    {
        using var tmp = new TempDir();
        var bad = tmp["behaviours.csv"];
        File.WriteAllText(bad, "behaviour,target\nsomething,Sure\n");
        var (code, err, wrote) = MixWith(tmp, bad, "advbench");
        Assert.Equal(1, code);
        Assert.Contains(bad, err);
        Assert.Contains("column 'goal'", err);
        Assert.False(wrote);
    }

    [Fact]
    public void Csv_text_column_option_names_a_missing_column()
    {
        using var tmp = new TempDir();
        var (code, err, wrote) = MixWith(tmp, TestPaths.SharedData("jailbreak_llms", "forbidden_question_set.csv"), "csv\n    text_column: prompt");
        Assert.Equal(1, code);
        Assert.Contains("forbidden_question_set.csv", err);
        Assert.Contains("column 'prompt'", err);
        Assert.False(wrote);
    }

    [Theory]
    [InlineData(10)]       // the whole deflate stream survives, the trailer does not
    [InlineData(371_400)]  // cut in the middle of a line
    public void Truncated_gz(int cut)
    {
        using var tmp = new TempDir();
        var bytes = File.ReadAllBytes(TestPaths.SharedData("hh_rlhf", "harmless-base", "test.jsonl.gz"));
        var bad = tmp["hh_test.jsonl.gz"];
        File.WriteAllBytes(bad, bytes[..(cut < 1000 ? bytes.Length - cut : cut)]);
        var (code, err, wrote) = MixWith(tmp, bad, "hh-rlhf");
        Assert.Equal(1, code);
        Assert.Contains(bad, err);
        Assert.Contains("truncated", err);
        Assert.Matches(@"line \d+", err);
        Assert.False(wrote);
    }

    [Fact]
    public async Task Parquet_with_a_non_string_text_column()
    {
        using var tmp = new TempDir();
        var bad = tmp["owt.parquet"];
        var text = new DataField<long>("text");
        await RoundTripTests.WriteParquet(bad, new ParquetSchema(text), new (DataField, Array)[] { (text, new long[] { 1, 2, 3 }) });
        var (code, err, wrote) = MixWith(tmp, bad, "parquet");
        Assert.Equal(1, code);
        Assert.Contains(bad, err);
        Assert.Contains("column 'text'", err);
        Assert.Contains("Int64", err);
        Assert.False(wrote);
    }

    [Fact]
    public void Not_a_parquet_file()
    {
        using var tmp = new TempDir();
        var bad = tmp["fake.parquet"];
        File.WriteAllText(bad, "text\nhello\n");
        var (code, err, wrote) = MixWith(tmp, bad, "parquet");
        Assert.Equal(1, code);
        Assert.Contains(bad, err);
        Assert.False(wrote);
    }

    [Fact]
    public void Recipe_with_an_unknown_field_names_the_line()
    {
        using var tmp = new TempDir();
        var recipe = tmp["r.yaml"];
        File.WriteAllText(recipe, "seed: 1\nsources:\n  - path: x.csv\n    shares: 0.5\n");
        var (code, _, err) = CliHarness.Run("data", "mix", "--recipe", recipe, "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains(recipe, err);
        Assert.Contains("line 4", err);
        Assert.False(Directory.Exists(tmp["out"]));
    }
}
