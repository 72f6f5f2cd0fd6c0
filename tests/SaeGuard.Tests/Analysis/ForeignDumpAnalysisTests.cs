using System.Buffers.Binary;
using System.IO.Compression;
using SaeGuard.Analysis;
using SaeGuard.Common;
using SaeGuard.Interop;
using SaeGuard.IO;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Analysis;

/// <summary>Foreign chunk folders as analyze reads them (the interop reader with <see cref="AnalysisInput.ForeignOptions"/>).</summary>
public class ForeignDumpAnalysisTests
{
    static ForeignDump Open(string dir) => ForeignDump.Open(dir, AnalysisInput.ForeignOptions);

    static float[] Matrix(int rows, int w, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, rows * w).Select(_ => rng.NextDouble() < 0.3 ? (float)rng.NextDouble() : 0f).ToArray();
    }

    /// <summary>An .npy v1.0 file; Fortran order stores the transpose's bytes.</summary>
    static byte[] Npy(float[] x, int rows, int w, string descr = "<f4", bool fortran = false)
    {
        var header = NpyWriter.Header(descr, new long[] { rows, w }, fortran);
        var src = fortran ? Synthetic.Transpose(x, rows, w) : x;
        using var ms = new MemoryStream();
        ms.Write(header);
        Span<byte> b = stackalloc byte[8];
        foreach (var v in src)
        {
            switch (descr)
            {
                case "<f4": BinaryPrimitives.WriteSingleLittleEndian(b, v); ms.Write(b[..4]); break;
                case "<f2": BinaryPrimitives.WriteHalfLittleEndian(b, (Half)v); ms.Write(b[..2]); break;
                case "<f8": BinaryPrimitives.WriteDoubleLittleEndian(b, v); ms.Write(b[..8]); break;
            }
        }
        return ms.ToArray();
    }

    static float[] ReadAll(ForeignDump d) => d.ReadBlocks(7).SelectMany(b => b.Data.Take(b.Rows * b.D).ToArray()).ToArray();

    [Theory]
    [InlineData("<f4", false)]
    [InlineData("<f8", false)]
    [InlineData("<f2", false)]
    [InlineData("<f4", true)]
    public void NpyChunksAreReadInOrderWithTheirValues(string descr, bool fortran)
    {
        using var tmp = new TempDir();
        var x = Matrix(50, 13, 1);
        if (descr == "<f2") x = x.Select(v => (float)(Half)v).ToArray();
        // chunk 2 sorts before chunk 10: natural order, not text order
        File.WriteAllBytes(tmp["feats_chunk10.npy"], Npy(x[(20 * 13)..], 30, 13, descr, fortran));
        File.WriteAllBytes(tmp["feats_chunk2.npy"], Npy(x[..(20 * 13)], 20, 13, descr, fortran));
        File.WriteAllText(tmp["meta.json"], "{\"n_tokens\": 50, \"d_sae\": 13, \"layer\": 20}");
        var d = Open(tmp.Path);
        Assert.Equal((50L, 13), (d.Rows, d.Width));
        Assert.Equal(DumpOrientation.TokensByFeatures, d.Orientation.Orientation);
        Assert.False(AnalysisInput.Open(tmp.Path).Facts.TransposedPerMeta);
        Assert.Equal(x, ReadAll(d));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), d.ReadBlocks(8).SelectMany(b => b.RowIds));
    }

    [Fact]
    public void NpzAndSafetensorsChunksAreRead()
    {
        using var tmp = new TempDir();
        var x = Matrix(40, 9, 2);
        new NpzWriter().Add("codes", x[..(25 * 9)], 25, 9).Add("other", new float[] { 1, 2, 3 }, 3).Save(tmp["part_0.npz"]);
        new SafeTensorsWriter().AddF16("feats", x[(25 * 9)..], 15, 9).AddI32("ids", new int[15], 15).Save(tmp["part_1.safetensors"]);
        var d = Open(tmp.Path);
        Assert.Equal((40L, 9), (d.Rows, d.Width));
        var expected = x[..(25 * 9)].Concat(x[(25 * 9)..].Select(v => (float)(Half)v)).ToArray();
        Assert.Equal(expected, ReadAll(d));
    }

    [Fact]
    public void ADeflatedNpzAnd3DChunksAreFlattenedToTokens()
    {
        using var tmp = new TempDir();
        var x = Matrix(12, 5, 3);
        var header = NpyWriter.Header("<f4", new long[] { 3, 4, 5 });
        using (var zip = ZipFile.Open(tmp["x_chunk0.npz"], ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("arr_0.npy", CompressionLevel.SmallestSize).Open())
        {
            s.Write(header);
            foreach (var v in x) s.Write(BitConverter.GetBytes(v));
        }
        var d = Open(tmp.Path);
        Assert.Equal((12L, 5), (d.Rows, d.Width));
        Assert.Equal(x, ReadAll(d));
    }

    [Fact]
    public void AMetaJsonThatFitsTheTransposeIsReportedNotRejected()
    {
        using var tmp = new TempDir();
        var x = Matrix(6, 40, 4);
        File.WriteAllBytes(tmp["c_chunk0.npy"], Npy(x, 6, 40));
        File.WriteAllText(tmp["meta.json"], "{\"num_tokens\": 40, \"n_features\": 6}");
        var d = Open(tmp.Path);
        Assert.Equal(DumpOrientation.FeaturesByTokens, d.Orientation.Orientation);
        Assert.Equal((40L, 6), (d.Rows, d.Width));
        Assert.Equal(Synthetic.Transpose(x, 6, 40), ReadAll(d));
        Assert.True(AnalysisInput.Open(tmp.Path).Facts.TransposedPerMeta);
    }

    [Fact]
    public void MetaChunkRowCountsAreChecked()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp["c_chunk0.npy"], Npy(Matrix(6, 4, 5), 6, 4));
        File.WriteAllText(tmp["meta.json"], "{\"chunks\": [{\"file\": \"c_chunk0.npy\", \"rows\": 7}]}");
        var e = Assert.Throws<UserError>(() => Open(tmp.Path));
        Assert.Contains("'c_chunk0.npy' has 7 rows but the file holds 6", e.Message);
    }

    [Fact]
    public void TruncatedAndForeignFilesAreUserErrors()
    {
        using var tmp = new TempDir();
        var bytes = Npy(Matrix(6, 4, 6), 6, 4);
        File.WriteAllBytes(tmp["a_chunk0.npy"], bytes[..^10]);
        Assert.Contains("truncated", Assert.Throws<UserError>(() => Open(tmp.Path)).Message);
        File.WriteAllText(tmp["a_chunk0.npy"], "not numpy at all");
        Assert.Contains("not a .npy file", Assert.Throws<UserError>(() => Open(tmp.Path)).Message);
        // .pt chunks are read now (interop reader); a broken one is a user error naming it
        File.Delete(tmp["a_chunk0.npy"]);
        File.WriteAllBytes(tmp["a_chunk0.pt"], new byte[] { 0x50, 0x4b });
        Assert.Contains(".pt", Assert.Throws<UserError>(() => Open(tmp.Path)).Message);
    }

    [Fact]
    public void PtChunksAreAnalysedAndMatchARecount()
    {
        // the old system's layout: sae_feats_layer20_chunk{0,1,2}.pt [tokens, 10] + meta.json + feature_stats.npz (not a chunk)
        var dir = Interop.InteropFixtures.File("dumps", "sae_feats_layer20");
        var all = Interop.InteropFixtures.Expect("dumps/sae_feats_layer20", "all");
        Assert.Equal(new long[] { 11, 10 }, all.Shape);
        var count = new long[10];
        var max = Enumerable.Repeat(double.NegativeInfinity, 10).ToArray();
        for (int r = 0; r < 11; r++)
            for (int j = 0; j < 10; j++)
            {
                double v = all.Values[r * 10 + j];
                if (v > 0) count[j]++;
                max[j] = Math.Max(max[j], v);
            }
        var input = AnalysisInput.Open(dir);
        Assert.Equal(("foreign dump", 11L, 10, 11L, 10L), (input.Facts.Source, input.Facts.Rows, input.Width, input.Facts.MetaTokens, input.Facts.MetaWidth));
        var stats = FeatureAnalyzer.Run(input.Width, () => input.Blocks(4), true, new AnalysisOptions { SampleTokens = 0 });
        Assert.Equal(11, stats.Tokens);
        Assert.Equal(count, stats.ActiveCount);
        Assert.Equal(max, stats.Max.Select(v => (double)v));
        Assert.Equal(count.Select(c => c / 11.0), stats.FiringRate);

        using var tmp = new TempDir();
        var (code, stdout, err) = CliHarness.Run("analyze", "--dump", dir, "--out", tmp["report"], "--json");
        Assert.True(code == 0, err);
        Assert.Equal(11, System.Text.Json.JsonDocument.Parse(stdout).RootElement.GetProperty("tokens").GetInt64());
        var npz = NpzReader.ReadAll(tmp["report/feature_stats.npz"]);
        Assert.Equal(count, npz["count"].ToInt64());
    }
}
