using Parquet;
using Parquet.Schema;
using SaeGuard.Data;
using SaeGuard.Data.Formats;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Data;

/// <summary>Files written here in the users' formats read back as written.</summary>
public class RoundTripTests
{
    static readonly string[] Texts =
    {
        "Plain web text about gardens.",
        "Quotes \"inside\", commas, and a\nsecond line",
        "Unicode: café, naïve, 東京, emoji 🙂",
        "  padded  ",
        "Last one.",
    };

    /// <summary>Writes a Parquet file with one row group per entry of <paramref name="groups"/>.</summary>
    internal static async Task WriteParquet(string path, ParquetSchema schema, params (DataField Field, Array Values)[][] groups)
    {
        await using var fs = File.Create(path);
        await using var w = await ParquetWriter.CreateAsync(schema, fs);
        foreach (var columns in groups)
        {
            using var rg = w.CreateRowGroup();
            foreach (var (field, values) in columns)
            {
                switch (values)
                {
                    case string?[] s: await rg.WriteAsync(field, s); break;
                    case long[] l: await rg.WriteAsync<long>(field, l.AsMemory()); break;
                    case int[] i: await rg.WriteAsync<int>(field, i.AsMemory()); break;
                    default: throw new NotSupportedException(values.GetType().Name);
                }
            }
        }
    }

    [Fact]
    public async Task Openwebtext_style_parquet_round_trips_over_row_groups()
    {
        using var tmp = new TempDir();
        var path = tmp["owt.parquet"];
        var text = new DataField<string>("text");
        var label = new DataField<int>("is_harmful");
        var cat = new DataField<string>("topic");
        var schema = new ParquetSchema(text, label, cat);
        await WriteParquet(path, schema,
            new (DataField, Array)[] { (text, Texts[..3]), (label, new[] { 0, 1, 0 }), (cat, new string?[] { "garden", null, "misc" }) },
            new (DataField, Array)[] { (text, new string?[] { Texts[3], null, Texts[4] }), (label, new[] { 1, 0, 0 }), (cat, new string?[] { "x", "y", "z" }) });
        Assert.Equal("parquet", CorpusReader.GuessFormat(path));
        var docs = CorpusReader.Read(path, new CorpusReadOptions { LabelColumn = "is_harmful", CategoryColumn = "topic" }).ToList();
        Assert.Equal(Texts, docs.Select(d => d.Text)); // the null text row is skipped
        Assert.Equal(new[] { "benign", "harmful", "benign", "harmful", "benign" }, docs.Select(d => d.Label));
        Assert.Equal(new[] { "garden", null, "misc", "x", "z" }, docs.Select(d => d.Category));
        Assert.All(docs, d => Assert.Equal("owt", d.Source));
    }

    [Fact]
    public void Openwebtext_style_gzipped_jsonl_round_trips()
    {
        using var tmp = new TempDir();
        var path = tmp["owt.jsonl.gz"];
        using (var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
        using (var w = new StreamWriter(gz))
            foreach (var t in Texts) w.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { text = t, url = "http://example.org" }));
        Assert.Equal("jsonl", CorpusReader.GuessFormat(path));
        Assert.Equal(Texts, CorpusReader.Read(path).Select(d => d.Text));
    }

    [Fact]
    public void Galtea_csv_with_cluster_ids_maps_to_the_six_names()
    {
        using var tmp = new TempDir();
        var path = tmp["galtea.csv"];
        var rows = Enumerable.Range(0, 12).Select(i => (Prompt: $"prompt {i}, with \"quotes\"\nand a newline", Cluster: i % 6)).ToList();
        File.WriteAllText(path, "prompt,source,cluster\r\n" + string.Concat(rows.Select(r => $"\"{r.Prompt.Replace("\"", "\"\"")}\",some_dataset,{r.Cluster}\r\n")));
        foreach (var format in new[] { "galtea", "auto" })
        {
            var docs = CorpusReader.Read(path, new CorpusReadOptions { Format = format }).ToList();
            Assert.Equal(rows.Select(r => r.Prompt), docs.Select(d => d.Text));
            Assert.Equal(rows.Select(r => HarmCategories.GalteaClusters[r.Cluster]), docs.Select(d => d.Category));
            Assert.All(docs, d => Assert.Equal(Labels.Harmful, d.Label));
        }
        Assert.Equal("privacy violations", HarmCategories.GalteaClusters[5]);
        Assert.Equal("jailbreak & roleplay", HarmCategories.GalteaClusters[1]);
    }

    [Fact]
    public async Task Galtea_parquet_with_int64_clusters()
    {
        using var tmp = new TempDir();
        var path = tmp["galtea.parquet"];
        var prompt = new DataField<string>("prompt");
        var source = new DataField<string>("source");
        var cluster = new DataField<long>("cluster");
        await WriteParquet(path, new ParquetSchema(prompt, source, cluster),
            new (DataField, Array)[] { (prompt, new string?[] { "a", "b", "c" }), (source, new string?[] { "s", "s", "s" }), (cluster, new long[] { 4, 2, 0 }) });
        var docs = CorpusReader.Read(path).ToList(); // auto: parquet with prompt+cluster → galtea
        Assert.Equal(new[] { "violence & illegal activities", "financial stuff & fraud", "ambiguous requests" }, docs.Select(d => d.Category));
        Assert.All(docs, d => Assert.Equal(Labels.Harmful, d.Label));
    }

    [Fact]
    public void Galtea_cluster_id_out_of_range_is_a_user_error()
    {
        using var tmp = new TempDir();
        var path = tmp["g.csv"];
        File.WriteAllText(path, "prompt,cluster\nhello,7\n");
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => CorpusReader.Read(path, new CorpusReadOptions { Format = "galtea" }).ToList());
        Assert.Contains(path, e.Message);
        Assert.Contains("'7'", e.Message);
    }

    [Fact]
    public void HhRlhf_dialogue_parser_splits_turns()
    {
        var turns = HhRlhfFormat.Parse("\n\nHuman: hi there\n\nAssistant: hello\n\nHuman: bye\n\nAssistant:");
        Assert.Equal(new[] { ("human", "hi there"), ("assistant", "hello"), ("human", "bye"), ("assistant", "") },
            turns.Select(t => (t.Role, t.Text)));
    }
}
