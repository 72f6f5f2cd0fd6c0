using System.Diagnostics;
using Parquet;
using Parquet.Schema;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Data.Formats;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Data;

/// <summary>Page headers are checked before Parquet.Net reads them: a damaged one is refused at once, naming row group, column and byte.</summary>
public class ParquetPagesTests
{
    static async Task Write(string path)
    {
        var text = new DataField<string>("text");
        await using var fs = File.Create(path);
        await using var w = await ParquetWriter.CreateAsync(new ParquetSchema(text), fs);
        for (int g = 0; g < 3; g++)
        {
            using var rg = w.CreateRowGroup();
            await rg.WriteAsync(text, Enumerable.Range(0, 50).Select(i => (string?)$"row group {g} document {i}").ToArray());
        }
    }

    [Fact]
    public async Task A_well_formed_file_passes_and_reads_all_rows()
    {
        using var tmp = new TempDir();
        var path = tmp["ok.parquet"];
        await Write(path);
        ParquetFooter.Check(path);
        var docs = CorpusReader.Read(path, new CorpusReadOptions { Format = "parquet" }).ToList();
        Assert.Equal(150, docs.Count);
        Assert.Equal("row group 2 document 49", docs[^1].Text);
    }

    [Fact]
    public async Task A_malformed_first_page_header_is_refused_before_the_library_reads_it()
    {
        using var tmp = new TempDir();
        var path = tmp["bad.parquet"];
        await Write(path);
        var bytes = File.ReadAllBytes(path);
        bytes[4] = 0xFB; // field delta 15, type 11 (a map): no page header holds one
        File.WriteAllBytes(path, bytes);
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<UserError>(() => CorpusReader.Read(path, new CorpusReadOptions { Format = "parquet" }).ToList());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"took {sw.Elapsed}");
        Assert.Contains("bad.parquet", e.Message);
        Assert.Contains("row group 0, column 0: the page header at byte 4 is malformed (a map", e.Message);
    }

    /// <summary>
    /// A fuzz mutant (case 9713, seed 1) on which Parquet.Net 6.1 loops although footer and page
    /// headers are well formed: refused by the read budget (0.5 s for a small file) within 1 s.
    /// </summary>
    [Fact]
    public void A_mutant_the_library_loops_on_is_refused_within_a_second()
    {
        using var tmp = new TempDir();
        var path = tmp["loop.parquet"];
        File.WriteAllBytes(path, Convert.FromBase64String(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "SaeGuard.Tests", "Data", "parquet_loop_fuzz_case_9713.b64")).Trim()));
        CorpusReader.Read(WarmFile(tmp), new CorpusReadOptions { Format = "parquet" }).ToList(); // compile the library first
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<UserError>(() => CorpusReader.Read(path, new CorpusReadOptions { Format = "parquet" }).ToList());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"took {sw.Elapsed}");
        Assert.Contains("loop.parquet", e.Message);
    }

    static string WarmFile(TempDir tmp)
    {
        var p = tmp["warm.parquet"];
        Write(p).GetAwaiter().GetResult();
        return p;
    }
}
