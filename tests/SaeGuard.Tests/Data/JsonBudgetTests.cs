using System.Diagnostics;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Data.Formats;
using SaeGuard.Interop;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Data;

/// <summary>JSON and JSON-lines readers hold a depth and a per-record size limit while parsing, and name file, line/item and limit.</summary>
public class JsonBudgetTests
{
    static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    static UserError Refused(string path)
    {
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<UserError>(() => CorpusReader.Read(path).ToList());
        Assert.True(sw.Elapsed.TotalSeconds < 5, $"took {sw.Elapsed.TotalSeconds:F1} s");
        return e;
    }

    [Fact]
    public void A_jsonl_line_over_the_record_limit_is_refused_naming_the_line()
    {
        using var tmp = new TempDir();
        var path = tmp["big.jsonl"];
        using (var w = new StreamWriter(path))
        {
            w.WriteLine("{\"text\": \"fine\"}");
            w.WriteLine("{\"text\": \"also fine\"}");
            w.Write("{\"text\": \"");
            w.Write(new string('a', JsonBudget.MaxRecordChars + 10));
            w.WriteLine("\"}");
        }
        var e = Refused(path);
        Assert.Contains("big.jsonl", e.Message);
        Assert.Contains("line 3", e.Message);
        Assert.Contains($"{JsonBudget.MaxRecordChars:N0}", e.Message);
    }

    [Fact]
    public void A_line_just_under_the_limit_is_read_exactly()
    {
        using var tmp = new TempDir();
        var path = tmp["ok.jsonl"];
        var text = new string('b', JsonBudget.MaxRecordChars - 20);
        File.WriteAllText(path, "{\"text\": \"x\"}\r\n{\"text\": \"" + text + "\"}\n");
        var docs = CorpusReader.Read(path).ToList();
        Assert.Equal(new[] { "x", text }, docs.Select(d => d.Text));
    }

    [Fact]
    public void Jsonl_nested_deeper_than_the_limit_names_the_line_and_the_depth()
    {
        using var tmp = new TempDir();
        var path = tmp["deep.jsonl"];
        File.WriteAllText(path, "{\"text\": \"ok\"}\n{\"text\": \"x\", \"extra\": " + Nested(JsonBudget.MaxDepth + 1) + "}\n");
        var e = Refused(path);
        Assert.Contains("line 2", e.Message);
        Assert.Contains($"deeper than {JsonBudget.MaxDepth} levels", e.Message);
        // one level less is accepted
        File.WriteAllText(path, "{\"text\": \"x\", \"extra\": " + Nested(JsonBudget.MaxDepth - 1) + "}\n");
        Assert.Equal("x", Assert.Single(CorpusReader.Read(path)).Text);
    }

    [Fact]
    public void A_json_list_item_over_the_record_limit_or_too_deep_is_refused_naming_the_item()
    {
        using var tmp = new TempDir();
        var path = tmp["list.json"];
        File.WriteAllText(path, "[{\"text\": \"a\"}, {\"text\": \"" + new string('c', JsonBudget.MaxRecordChars + (2 << 20)) + "\"}]");
        var e = Refused(path);
        Assert.Contains("list.json", e.Message);
        Assert.Contains("item 2", e.Message);
        Assert.Contains("larger than", e.Message);
        File.WriteAllText(path, "[\n{\"text\": \"a\"},\n{\"text\": \"b\", \"x\": " + Nested(JsonBudget.MaxDepth + 5) + "}\n]");
        e = Refused(path);
        Assert.Contains("line 3", e.Message);
        Assert.Contains($"deeper than {JsonBudget.MaxDepth} levels", e.Message);
    }

    [Fact]
    public void Foreign_meta_json_over_the_config_limits_is_refused_by_name()
    {
        using var tmp = new TempDir();
        var dir = tmp["dump"];
        Directory.CreateDirectory(dir);
        SaeGuard.IO.NpyWriter.Write(Path.Combine(dir, "x_chunk0.npy"), new float[] { 1, 2, 3, 4 }, 2, 2);
        File.WriteAllText(Path.Combine(dir, "meta.json"), "{\"n\": " + Nested(200) + "}");
        var e = Assert.Throws<UserError>(() => ForeignDump.Open(dir));
        Assert.Contains("meta.json", e.Message);
        Assert.Contains($"deeper than {JsonBudget.MaxDepth} levels", e.Message);
        using (var fs = File.Create(Path.Combine(dir, "meta.json"))) fs.SetLength(JsonBudget.MaxConfigBytes + 1); // sparse: nothing to read
        e = Assert.Throws<UserError>(() => ForeignDump.Open(dir));
        Assert.Contains($"at most {JsonBudget.MaxConfigBytes:N0} bytes", e.Message);
    }
}
