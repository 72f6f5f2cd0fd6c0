using System.Text.Json;
using SaeGuard.Data;
using SaeGuard.Data.Mixing;
using SaeGuard.Tests.Infrastructure;
using SkiaSharp;

namespace SaeGuard.Tests.Data;

public class DataCommandTests
{
    [Fact]
    public void Stats_prints_the_source_table()
    {
        var adv = TestPaths.SharedData("advbench", "harmful_behaviors.csv");
        var fq = TestPaths.SharedData("jailbreak_llms", "forbidden_question_set.csv");
        var (code, stdout, err) = CliHarness.Run("data", "stats", "--input", adv, fq);
        Assert.True(code == 0, err);
        var lines = stdout.Split('\n');
        var advLine = lines.First(l => l.StartsWith("harmful_behaviors "));
        var fqLine = lines.First(l => l.StartsWith("forbidden_question_set "));
        Assert.Contains(" 520 ", advLine);
        Assert.Contains("57.1%", advLine);   // 520 / 910
        Assert.Contains(" 390 ", fqLine);
        Assert.Contains("42.9%", fqLine);
        Assert.Contains("910", lines.Single(l => l.StartsWith("total ")));
        // Labels table: AdvBench all harmful; forbidden questions 240 harmful + 150 unlabelled.
        Assert.Matches(@"forbidden_question_set\s+240\s+0\s+150", stdout);
    }

    [Fact]
    public void Stats_json_agrees_with_a_recount()
    {
        var path = TestPaths.SharedData("self_instruct", "seed_tasks.jsonl");
        var (code, stdout, err) = CliHarness.Run("data", "stats", "--input", path, "--format", "self-instruct", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        var counter = TestTokenCounters.MiniLm();
        var docs = CorpusReader.Read(path, new CorpusReadOptions { Format = "self-instruct" }).ToList();
        Assert.Equal(175, doc.RootElement.GetProperty("examples").GetInt64());
        Assert.Equal(docs.Sum(d => (long)counter.Count(d.Text)), doc.RootElement.GetProperty("tokens").GetInt64());
        var row = doc.RootElement.GetProperty("sources")[0];
        Assert.Equal(175, row.GetProperty("benign").GetInt64());
        Assert.Equal(100.0, row.GetProperty("tokens_pct").GetDouble(), 9);
    }

    [Fact]
    public void Stats_of_a_mixed_corpus_groups_by_row_source()
    {
        using var tmp = new TempDir();
        var recipe = tmp["r.json"];
        File.WriteAllText(recipe, JsonSerializer.Serialize(new
        {
            seed = 2, by = "examples", total = 300,
            sources = new object[]
            {
                new { name = "adv", path = TestPaths.SharedData("advbench", "harmful_behaviors.csv"), share = 2 },
                new { name = "self", path = TestPaths.SharedData("self_instruct", "user_oriented_instructions.jsonl"), format = "self-instruct", share = 1 },
            },
        }));
        var (code, mixOut, err) = CliHarness.Run("data", "mix", "--recipe", recipe, "--out", tmp["mix"]);
        Assert.True(code == 0, err);
        var (code2, statsOut, err2) = CliHarness.Run("data", "stats", "--input", Path.Combine(tmp["mix"], "corpus.jsonl"));
        Assert.True(code2 == 0, err2);
        Assert.Matches(@"adv\s+200\s+66\.7%", statsOut);
        Assert.Matches(@"self\s+100\s+33\.3%", statsOut);
        static IEnumerable<string> Lines(string table) => table.Trim().Split('\n').Order(StringComparer.Ordinal);
        Assert.Equal(Lines(mixOut), Lines(statsOut[..statsOut.IndexOf("\n\n", StringComparison.Ordinal)])); // same table
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp["mix"], "mix.json")));
        Assert.Equal(300, summary.RootElement.GetProperty("examples").GetInt64());
    }

    [Fact]
    public void Viz_writes_dark_200_dpi_plots()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliHarness.Run("data", "viz", "--input",
            TestPaths.SharedData("jailbreak_llms", "forbidden_question_set.csv"), TestPaths.SharedData("advbench", "harmful_behaviors.csv"),
            "--out", tmp["viz"]);
        Assert.True(code == 0, err);
        var names = new[] { "01_source_shares.png", "02_token_length_hist.png", "03_labels.png", "04_categories.png" };
        Assert.Equal(names, Directory.GetFiles(tmp["viz"]).Select(Path.GetFileName).Order());
        foreach (var name in names)
        {
            var bytes = File.ReadAllBytes(Path.Combine(tmp["viz"], name));
            using var bmp = SKBitmap.Decode(bytes);
            Assert.Equal((2000, 1200), (bmp.Width, bmp.Height));
            var corner = bmp.GetPixel(3, 3);
            Assert.True(corner.Red < 40 && corner.Green < 40 && corner.Blue < 40, $"{name}: corner {corner} is not dark");
            // pHYs chunk: 7874 pixels per metre = 200 DPI on both axes.
            int at = bytes.AsSpan().IndexOf("pHYs"u8);
            Assert.True(at > 0, $"{name} has no pHYs chunk");
            Assert.Equal(7874u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 4)));
            Assert.Equal(7874u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 8)));
        }
    }

    [Fact]
    public void Stats_needs_inputs()
    {
        var (code, _, err) = CliHarness.Run("data", "stats");
        Assert.Equal(1, code);
        Assert.Contains("--input", err);
    }
}
