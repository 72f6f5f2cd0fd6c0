using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Analysis;
using SaeGuard.IO;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Analysis;

public class AnalyzeCommandTests
{
    static void WriteNpy(string path, int rows, int w, float fill = 0.5f)
    {
        var x = new float[rows * w];
        for (int i = 0; i < x.Length; i += 3) x[i] = fill;
        using var fs = File.Create(path);
        fs.Write(NpyWriter.Header("<f4", new long[] { rows, w }));
        foreach (var v in x) fs.Write(BitConverter.GetBytes(v));
    }

    static (int Code, string Err) Analyze(params string[] args)
    {
        var (code, _, err) = CliHarness.Run(new[] { "analyze" }.Concat(args).ToArray());
        return (code, err);
    }

    [Fact]
    public void AChunkWithADifferentWidthIsExit1()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["dump"]);
        WriteNpy(tmp["dump/feats_chunk0.npy"], 20, 16);
        WriteNpy(tmp["dump/feats_chunk1.npy"], 20, 17);
        var (code, err) = Analyze("--dump", tmp["dump"], "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("feats_chunk1.npy' has width 17 but 'feats_chunk0.npy' has width 16", err);
        Assert.False(Directory.Exists(tmp["out"]));
    }

    [Fact]
    public void AnEmptyFolderIsExit1()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["dump"]);
        var (code, err) = Analyze("--dump", tmp["dump"], "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("is empty", err);
        // a folder with files but no chunks says what it expected
        File.WriteAllText(tmp["dump/notes.txt"], "hello");
        (code, err) = Analyze("--dump", tmp["dump"], "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("no chunk files", err);
        Assert.False(Directory.Exists(tmp["out"]));
    }

    [Fact]
    public void AMetaJsonThatLiesAboutRowCountsIsExit1()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["dump"]);
        WriteNpy(tmp["dump/feats_chunk0.npy"], 30, 16);
        WriteNpy(tmp["dump/feats_chunk1.npy"], 20, 16);
        File.WriteAllText(tmp["dump/meta.json"], "{\"n_tokens\": 64, \"d_sae\": 16}");
        var (code, err) = Analyze("--dump", tmp["dump"], "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("says there are 64 tokens but the chunks hold 50 rows", err);
        Assert.DoesNotContain("   at ", err);
        // our own dump format: n_tokens is checked against the shards too
        using var t2 = new TempDir();
        SyntheticSae.WriteDump(t2["codes"], Synthetic.HealthyTopK(40, 32, 2, 1), 40, 32, kind: "codes");
        var meta = File.ReadAllText(t2["codes/meta.json"]).Replace("\"n_tokens\": 40", "\"n_tokens\": 41");
        File.WriteAllText(t2["codes/meta.json"], meta);
        (code, err) = Analyze("--dump", t2["codes"], "--out", t2["out"]);
        Assert.Equal(1, code);
        Assert.Contains("n_tokens = 41 but the shards hold 40 rows", err);
    }

    [Fact]
    public void OtherMistakesAreExit1WithClearMessages()
    {
        using var tmp = new TempDir();
        var (code, err) = Analyze("--dump", tmp["missing"], "--out", tmp["out"]);
        Assert.Equal((1, true), (code, err.Contains("not found")));
        SyntheticSae.WriteDump(tmp["codes"], Synthetic.HealthyTopK(40, 32, 2, 1), 40, 32, kind: "codes");
        (code, err) = Analyze("--dump", tmp["codes"], "--out", tmp["out"], "--pca", "sideways");
        Assert.Equal((1, true), (code, err.Contains("--pca must be")));
        var (sae, acts, _) = SyntheticSae.Make(30, 1);
        SaeLensFormat.Save(sae, tmp["sae"]);
        (code, err) = Analyze("--dump", tmp["codes"], "--out", tmp["out"], "--sae", tmp["sae"]);
        Assert.Equal((1, true), (code, err.Contains("holds SAE codes")));
        SyntheticSae.WriteDump(tmp["acts"], Synthetic.HealthyTopK(30, 33, 2, 1), 30, 33);
        (code, err) = Analyze("--dump", tmp["acts"], "--out", tmp["out"], "--sae", tmp["sae"]);
        Assert.Equal((1, true), (code, err.Contains("expects d_in = 32")));
        Assert.False(Directory.Exists(tmp["out"]));
    }

    [Fact]
    public void ActivationsWithAnSaeAreEncodedOnTheFly()
    {
        using var tmp = new TempDir();
        var (sae, acts, _) = SyntheticSae.Make(600, 2);
        SyntheticSae.WriteDump(tmp["acts"], acts, 600, SyntheticSae.DIn);
        SaeLensFormat.Save(sae, tmp["sae"]);
        var (code, stdout, err) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--sae", tmp["sae"], "--out", tmp["out"], "--json");
        Assert.True(code == 0, err);
        using var summary = JsonDocument.Parse(stdout);
        Assert.Equal(SyntheticSae.DSae, summary.RootElement.GetProperty("width").GetInt32());
        using var diag = JsonDocument.Parse(File.ReadAllText(tmp["out/diagnosis.json"]));
        var recon = diag.RootElement.GetProperty("reconstruction");
        Assert.True(recon.GetProperty("explained_variance").GetDouble() > 0.5);
        Assert.Equal("topk", diag.RootElement.GetProperty("sae").GetProperty("architecture").GetString());
        // the codes the analysis saw are exactly the SAE's: L0 = k = 4 on every token
        Assert.Equal(4.0, diag.RootElement.GetProperty("l0").GetProperty("mean").GetDouble(), 9);
        var h3 = diag.RootElement.GetProperty("hypotheses").EnumerateArray().Single(h => h.GetProperty("id").GetString() == "H3");
        Assert.False(h3.GetProperty("supported").GetBoolean());
    }

    [Fact]
    public void ASparseTopKCodesDumpGivesTheSameStatisticsAsTheDenseOne()
    {
        using var tmp = new TempDir();
        const int rows = 300, w = 64, k = 5;
        var x = Synthetic.HealthyTopK(rows, w, k, 3);
        SyntheticSae.WriteDump(tmp["dense"], x, rows, w, kind: "codes");
        using (var sw = new DumpWriter(tmp["sparse"], new DumpMeta { Kind = "codes" }, w, f16: false, k: k, maxShardBytes: 4096))
        {
            for (int doc = 0, r0 = 0; r0 < rows; doc++, r0 += 10)
            {
                var idx = new List<int>(); var val = new List<float>();
                for (int r = r0; r < r0 + 10; r++)
                {
                    var nz = Enumerable.Range(0, w).Where(j => x[r * w + j] != 0).ToList();
                    idx.AddRange(nz); val.AddRange(nz.Select(j => x[r * w + j]));
                }
                sw.AddDoc(new SaeGuard.Data.DocRecord { Id = doc, Text = "d" });
                sw.AddSparseRows(doc, idx.ToArray(), val.ToArray(), new int[10], new bool[10]);
            }
            sw.Complete();
        }
        FeatureStats Stats(string dir)
        {
            var input = AnalysisInput.Open(dir);
            return FeatureAnalyzer.Run(input.Width, () => input.Blocks(64), true, new AnalysisOptions { SampleTokens = 0 });
        }
        var a = Stats(tmp["dense"]); var b = Stats(tmp["sparse"]);
        Assert.Equal(a.ActiveCount, b.ActiveCount);
        Assert.Equal(a.Max, b.Max);
        Assert.Equal(a.EpsTable, b.EpsTable);
        Assert.Equal(a.Values, b.Values);
    }

    [Fact]
    public void SpecialTokensAreSkippedUnlessAskedFor()
    {
        using var tmp = new TempDir();
        SyntheticSae.WriteDump(tmp["codes"], Synthetic.HealthyTopK(100, 32, 2, 4), 100, 32, kind: "codes", specialFirst: true);
        var (code, stdout, err) = CliHarness.Run("analyze", "--dump", tmp["codes"], "--out", tmp["a"], "--json");
        Assert.True(code == 0, err);
        Assert.Equal(90, JsonDocument.Parse(stdout).RootElement.GetProperty("tokens").GetInt64());
        (code, stdout, err) = CliHarness.Run("analyze", "--dump", tmp["codes"], "--out", tmp["b"], "--json", "--include-special");
        Assert.True(code == 0, err);
        Assert.Equal(100, JsonDocument.Parse(stdout).RootElement.GetProperty("tokens").GetInt64());
    }
}
