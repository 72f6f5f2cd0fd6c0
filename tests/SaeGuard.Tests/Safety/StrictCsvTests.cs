using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Data.Formats;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Safety;

/// <summary>Issue 12, case 5: broken CSV quoting is an error naming the line, unless --csv-lenient.</summary>
public class StrictCsvTests
{
    // 8 quotes (even, so a quote count passes), but a stray quote on line 3 and an unclosed field on line 5: 4 rows read as 2
    const string Broken = "text,label\n\"alpha\",benign\n\"bra\"vo\",harmful\n\"charlie\",benign\n\"delta,harmful\n";

    [Fact]
    public void A_stray_quote_inside_a_quoted_field_is_an_error_naming_the_line()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["broken.csv"], Broken);
        var (code, _, err) = CliHarness.Run("data", "stats", "--input", tmp["broken.csv"]);
        Assert.Equal(1, code);
        Assert.Contains("broken.csv', line 3", err);
        Assert.Contains("not doubled", err);
        Assert.Contains("--csv-lenient", err);
        Assert.Equal(Broken, File.ReadAllText(tmp["broken.csv"]));
    }

    [Fact]
    public void Csv_lenient_reads_it_anyway()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["broken.csv"], Broken);
        var (code, _, err) = CliHarness.Run("data", "stats", "--input", tmp["broken.csv"], "--csv-lenient");
        Assert.True(code == 0, err);
    }

    [Theory]
    [InlineData("text\n\"never closes\nmore\n", 2, "never closes")]
    [InlineData("text,label\nok,benign\n5\" screen,benign\n", 3, "unquoted field")]
    [InlineData("text\n\"a\"\"b\"x\n", 2, "not doubled")]
    public void Each_kind_of_broken_quote_names_its_line(string csv, int line, string what)
    {
        var e = Assert.Throws<UserError>(() => CsvQuoting.Validate(new StringReader(csv), "x.csv", ','));
        Assert.Contains($"'x.csv', line {line}:", e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void Valid_quoting_is_read_exactly()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["ok.csv"], "text,label\r\n\"say \"\"hi\"\", then\nleave\",harmful\r\nplain,benign\r\n\"\",benign\r\n");
        var docs = CorpusReader.Read(tmp["ok.csv"], new CorpusReadOptions { LabelColumn = "label" }).ToList();
        Assert.Equal(new[] { "say \"hi\", then\nleave", "plain" }, docs.Select(d => d.Text));
        Assert.Equal(new[] { "harmful", "benign" }, docs.Select(d => d.Label));
    }

    [Fact]
    public void The_public_data_sets_pass_the_strict_check()
    {
        foreach (var f in Directory.EnumerateFiles(TestPaths.SharedData(), "*.csv", SearchOption.AllDirectories))
            CsvQuoting.Validate(f, ',');
    }
}
