using SaeGuard.Activations;
using SaeGuard.Interop;
using SaeGuard.IO;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Scale;

/// <summary>Foreign .npy chunks are read block by block from the file and train like a native dump.</summary>
public class ForeignDumpScaleTests
{
    static float[] Matrix(int rows, int d, int seed)
    {
        var rng = new Random(seed);
        var x = new float[rows * d];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() < 0.3 ? (float)(rng.NextDouble() * 4 - 1) : 0f;
        return x;
    }

    [Fact]
    public void Npy_chunks_stream_in_blocks_that_cross_chunk_ends_exactly()
    {
        using var tmp = new TempDir();
        var dir = tmp["feats"];
        Directory.CreateDirectory(dir);
        var a = Matrix(1000, 48, 1); var b = Matrix(777, 48, 2);
        NpyWriter.Write(Path.Combine(dir, "sae_feats_layer20_chunk0.npy"), a, 1000, 48);
        NpyWriter.Write(Path.Combine(dir, "sae_feats_layer20_chunk1.npy"), new DenseTensor(DType.F16, new long[] { 777, 48 }, b.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray()));
        var dump = ForeignDump.Open(dir);
        Assert.Equal(new long[] { 1000, 777 }, dump.ChunkRows);
        var blocks = dump.ReadBlocks(300).ToList();
        Assert.Equal(new[] { 300, 300, 300, 100, 300, 300, 177 }, blocks.Select(x => x.Rows));
        var all = blocks.SelectMany(x => x.Data).ToArray();
        Assert.Equal(a, all[..a.Length]);
        Assert.Equal(b.Select(v => (float)(Half)v), all[a.Length..]);
        Assert.Equal(Enumerable.Range(0, 1777).Select(i => (long)i), blocks.SelectMany(x => x.RowIds));
    }

    [Fact]
    public void Training_on_a_foreign_npy_chunk_equals_training_on_the_same_rows_as_a_native_dump()
    {
        using var tmp = new TempDir();
        int rows = 3000, d = 32;
        var x = Matrix(rows, d, 5);
        Directory.CreateDirectory(tmp["foreign"]);
        NpyWriter.Write(Path.Combine(tmp["foreign"], "acts_chunk0.npy"), x, rows, d);
        using (var w = new DumpWriter(tmp["native"], new DumpMeta { Model = "synthetic" }, d, f16: false))
        {
            w.AddRows(0, x, new int[rows], new bool[rows]);
            w.Complete();
        }
        var common = new[] { "--expansion", "2", "--k", "4", "--batch", "256", "--seed", "9", "--tokens", "2048" };
        var (code, _, err) = CliHarness.Run(new[] { "train", "--acts", tmp["foreign"], "--out", tmp["sae-f"] }.Concat(common).ToArray());
        Assert.True(code == 0, err);
        Assert.Contains("foreign dump", err);
        (code, _, err) = CliHarness.Run(new[] { "train", "--acts", tmp["native"], "--out", tmp["sae-n"] }.Concat(common).ToArray());
        Assert.True(code == 0, err);
        using var f = new SafeTensorsReader(Path.Combine(tmp["sae-f"], "sae_weights.safetensors"));
        using var n = new SafeTensorsReader(Path.Combine(tmp["sae-n"], "sae_weights.safetensors"));
        foreach (var t in new[] { "W_enc", "b_enc", "W_dec", "b_dec" }) Assert.Equal(n.ReadFloats(t), f.ReadFloats(t));
    }
}
