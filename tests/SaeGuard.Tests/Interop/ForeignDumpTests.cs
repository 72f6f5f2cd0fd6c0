using SaeGuard.Interop;
using SaeGuard.IO;
using SaeGuard.Tests.Infrastructure;
using static SaeGuard.Tests.Interop.InteropFixtures;

namespace SaeGuard.Tests.Interop;

public class ForeignDumpTests
{
    static float[] AllRows(ForeignDump d, int blockRows)
    {
        var blocks = d.ReadBlocks(blockRows).ToList();
        Assert.All(blocks, b => Assert.True(b.Rows <= blockRows && b.D == d.Width));
        Assert.Equal(Enumerable.Range(0, (int)d.Rows).Select(i => (long)i), blocks.SelectMany(b => b.RowIds));
        return blocks.SelectMany(b => b.Data).ToArray();
    }

    static void AssertRows(string fixture, float[] actual)
    {
        var e = Expect(fixture, "all");
        Assert.Equal(e.Values, actual.Select(v => (double)v));
    }

    [Fact]
    public void OldSystemPtChunksWithMeta()
    {
        var d = ForeignDump.Open(File("dumps", "sae_feats_layer20"));
        Assert.Equal(DumpOrientation.TokensByFeatures, d.Orientation.Orientation);
        Assert.True(d.Orientation.Confident);
        Assert.Contains("n_features = 10 matches axis 1", d.Orientation.Reason);
        Assert.Equal((11L, 10), (d.Rows, d.Width));
        Assert.Equal(3, d.Chunks.Count);
        Assert.EndsWith("chunk0.pt", d.Chunks[0]);
        AssertRows("dumps/sae_feats_layer20", AllRows(d, 3));
        Assert.True(ForeignDump.LooksLikeForeignDump(File("dumps", "sae_feats_layer20")));
        var stats = NpzReader.ReadAll(File("dumps", "sae_feats_layer20", "feature_stats.npz"));
        Assert.Equal(new long[] { 10 }, stats["firing_rate"].Shape);
    }

    [Fact]
    public void TransposedNpyChunksInNaturalOrder()
    {
        var d = ForeignDump.Open(File("dumps", "npy_transposed"));
        Assert.Equal(DumpOrientation.FeaturesByTokens, d.Orientation.Orientation);
        Assert.Contains("features by tokens", d.Orientation.Reason);
        Assert.Equal((7L, 12), (d.Rows, d.Width));
        Assert.EndsWith("chunk2.npy", d.Chunks[0]); // before chunk10
        AssertRows("dumps/npy_transposed", AllRows(d, 4));
    }

    [Fact]
    public void ThreeDimensionalSafetensorsWithTokenIds()
    {
        var d = ForeignDump.Open(File("dumps", "st_3d"));
        Assert.Equal("acts", d.TensorKey);
        Assert.Equal((9L, 5), (d.Rows, d.Width));
        AssertRows("dumps/st_3d", AllRows(d, 100));
        Assert.Equal(Enumerable.Range(0, 9), d.ReadBlocks(4).SelectMany(b => b.TokenIds));
        Assert.All(d.ReadBlocks().SelectMany(b => b.DocIds), v => Assert.Equal(0, v));
    }

    [Fact]
    public void DictChunksPickTheFeatureTensor()
    {
        var d = ForeignDump.Open(File("dumps", "dict_chunks"));
        Assert.Equal("feats", d.TensorKey);
        Assert.Equal((5L, 4), (d.Rows, d.Width));
        AssertRows("dumps/dict_chunks", AllRows(d, 2));
    }

    [Fact]
    public void OrientationFromChunkShapesOrForced()
    {
        using var tmp = new TempDir();
        // no meta: two chunks [6, 3] and [6, 5] → axis 0 constant → features by tokens
        NpyWriter.Write(tmp["a_0.npy"], Enumerable.Range(0, 18).Select(i => (float)i).ToArray(), 6, 3);
        NpyWriter.Write(tmp["a_1.npy"], Enumerable.Range(100, 30).Select(i => (float)i).ToArray(), 6, 5);
        var d = ForeignDump.Open(tmp.Path);
        Assert.Equal(DumpOrientation.FeaturesByTokens, d.Orientation.Orientation);
        Assert.Equal((8L, 6), (d.Rows, d.Width));
        var first = d.ReadBlocks().First();
        Assert.Equal(new float[] { 0, 3, 6, 9, 12, 15 }, first.Row(0).ToArray());
        var forced = Assert.Throws<SaeGuard.Common.UserError>(() => ForeignDump.Open(tmp.Path, new ForeignDumpOptions { Orientation = DumpOrientation.TokensByFeatures }));
        Assert.Contains("chunks disagree", forced.Message);
        // a single square-free chunk without meta: the usual layout, flagged as a guess
        using var one = new TempDir();
        NpyWriter.Write(one["x.npy"], new float[12], 4, 3);
        var g = ForeignDump.Open(one.Path).Orientation;
        Assert.Equal((DumpOrientation.TokensByFeatures, false), (g.Orientation, g.Confident));
    }

    [Fact]
    public void SiblingChunksBesideTheMetaFolder()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["run"]);
        System.IO.File.WriteAllText(Path.Combine(tmp["run"], "meta.json"), "{\"shape\": \"tokens x features\"}");
        NpyWriter.Write(tmp["run_chunk1.npy"], new float[] { 5, 6 }, 1, 2);
        NpyWriter.Write(tmp["run_chunk0.npy"], new float[] { 1, 2, 3, 4 }, 2, 2);
        var d = ForeignDump.Open(tmp["run"]);
        Assert.Contains("tokens x features", d.Orientation.Reason);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, d.ReadBlocks().SelectMany(b => b.Data));
    }

    [Fact]
    public void HostileChunkIsAUserError()
    {
        using var tmp = new TempDir();
        System.IO.File.Copy(File("torch", "hostile_os_system.pt"), tmp["chunk0.pt"]);
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => ForeignDump.Open(tmp.Path));
        Assert.Contains("'posix.system'", e.Message);
        Assert.False(ForeignDump.LooksLikeForeignDump(tmp["missing"]));
    }
}

public class DumpSourceTests
{
    [Fact]
    public void OpensNativeAndForeignDumpsAlike()
    {
        using var tmp = new TempDir();
        var dir = tmp["acts"];
        using (var w = new SaeGuard.Activations.DumpWriter(dir, new SaeGuard.Activations.DumpMeta { Model = "m", Layer = 1 }, 2, f16: false))
        {
            w.AddDoc(new SaeGuard.Data.DocRecord { Id = 0, Text = "a b c", Source = "t" });
            w.AddRows(0, new float[] { 1, 2, 3, 4, 5, 6 }, new[] { 7, 8, 9 }, new[] { true, false, false });
            w.Complete();
        }
        var native = DumpSource.Open(dir);
        Assert.NotNull(native.Native);
        Assert.False(ForeignDump.LooksLikeForeignDump(dir));
        Assert.Equal((3L, 2), (native.Rows, native.Width));
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, native.ReadBlocks().SelectMany(b => b.Data));
        Assert.Equal(new[] { 7, 8, 9 }, native.ReadBlocks().SelectMany(b => b.TokenIds));

        var foreign = DumpSource.Open(File("dumps", "sae_feats_layer20"));
        Assert.NotNull(foreign.Foreign);
        Assert.Contains("[tokens, features]", foreign.Description);
        Assert.Equal(11, foreign.ReadBlocks(5).Sum(b => b.Rows));
    }
}
