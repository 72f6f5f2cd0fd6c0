using System.IO.Compression;
using System.Runtime.InteropServices;
using SaeGuard.Common;
using SaeGuard.Interop;
using SaeGuard.IO;
using SaeGuard.IO.Torch;
using SaeGuard.Tests.Infrastructure;
using static SaeGuard.Tests.Interop.InteropFixtures;

namespace SaeGuard.Tests.Interop;

/// <summary>
/// Foreign chunks in every format are streamed in row blocks (no whole-chunk array) and give
/// exactly the values of the whole-file readers.
/// </summary>
public class ForeignChunkStreamingTests
{
    static float[] Matrix(int rows, int d, int seed)
    {
        var rng = new Random(seed);
        var x = new float[rows * d];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() < 0.4 ? (float)(rng.NextDouble() * 6 - 2) : 0f;
        return x;
    }

    static byte[] Bytes(DType t, float[] x) => t switch
    {
        DType.F32 => MemoryMarshal.AsBytes(x.AsSpan()).ToArray(),
        DType.F16 => x.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray(),
        DType.BF16 => x.SelectMany(v => BitConverter.GetBytes(DTypes.FloatToBf16(v))).ToArray(),
        DType.F64 => x.SelectMany(v => BitConverter.GetBytes((double)v)).ToArray(),
        _ => throw new ArgumentException(t.ToString()),
    };

    static byte[] TokenBytes(int rows) => MemoryMarshal.AsBytes(Enumerable.Range(0, rows).Select(i => (long)(1000 + i)).ToArray().AsSpan()).ToArray();

    /// <summary>Writes one chunk of x in the format; returns the whole-file reader's float32 values of it.</summary>
    static float[] WriteChunk(string path, string format, DType dtype, float[] x, int rows, int d)
    {
        var shape = new long[] { rows, d };
        var data = Bytes(dtype, x);
        switch (format)
        {
            case "pt":
                TorchWriter.Save(path, new TorchTensorData("feats", dtype, shape, data), new TorchTensorData("token_ids", DType.I64, new long[] { rows }, TokenBytes(rows)));
                return ((TorchTensor)((SaeGuard.IO.Pickle.PyDict)TorchPickleReader.Load(path)!)["feats"]!).ToFloat32();
            case "pt-bare":
                TorchWriter.Save(path, new TorchTensorData("", dtype, shape, data));
                return ((TorchTensor)TorchPickleReader.Load(path)!).ToFloat32();
            case "npz":
            case "npz-deflated":
                new NpzWriter().Add("feats", new DenseTensor(dtype, shape, data)).Add("token_ids", new DenseTensor(DType.I64, new long[] { rows }, TokenBytes(rows)))
                    .Save(path, compress: format == "npz-deflated");
                return NpzReader.ReadAll(path)["feats"].ToFloat32();
            case "safetensors":
                new SafeTensorsWriter().Add("feats", dtype, shape, data).Add("token_ids", DType.I64, new long[] { rows }, TokenBytes(rows)).Save(path);
                using (var r = new SafeTensorsReader(path)) return r.ReadFloats("feats");
            case "npy-big-endian":
                {
                    int es = DTypes.Size(dtype);
                    var swapped = (byte[])data.Clone();
                    for (int i = 0; i < swapped.Length; i += es) Array.Reverse(swapped, i, es);
                    System.IO.File.WriteAllBytes(path, NpyWriter.Header(NpyDTypes.Descr(dtype).Replace('<', '>'), shape).Concat(swapped).ToArray());
                    return NpyReader.Read(path).ToFloat32();
                }
        }
        throw new ArgumentException(format);
    }

    public static TheoryData<string, string, DType> Formats => new()
    {
        { "pt", ".pt", DType.F32 }, { "pt", ".pt", DType.F16 }, { "pt-bare", ".pt", DType.BF16 },
        { "npz", ".npz", DType.F32 }, { "npz-deflated", ".npz", DType.F16 },
        { "safetensors", ".safetensors", DType.F32 }, { "safetensors", ".safetensors", DType.BF16 },
        { "npy-big-endian", ".npy", DType.F64 },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Streamed_blocks_equal_the_whole_file_read_across_chunk_ends(string format, string ext, DType dtype)
    {
        using var tmp = new TempDir();
        var dir = tmp["feats"];
        Directory.CreateDirectory(dir);
        var a = WriteChunk(Path.Combine(dir, "sae_feats_layer20_chunk0" + ext), format, dtype, Matrix(700, 24, 1), 700, 24);
        var b = WriteChunk(Path.Combine(dir, "sae_feats_layer20_chunk1" + ext), format, dtype, Matrix(333, 24, 2), 333, 24);
        var dump = ForeignDump.Open(dir);
        Assert.Equal(new long[] { 700, 333 }, dump.ChunkRows);
        var blocks = dump.ReadBlocks(256).ToList();
        Assert.Equal(new[] { 256, 256, 188, 256, 77 }, blocks.Select(x => x.Rows));
        Assert.Equal(a.Concat(b).ToArray(), blocks.SelectMany(x => x.Data).ToArray());
        Assert.Equal(Enumerable.Range(0, 1033).Select(i => (long)i), blocks.SelectMany(x => x.RowIds));
        if (format != "pt-bare" && format != "npy-big-endian")
            Assert.Equal(Enumerable.Range(0, 700).Concat(Enumerable.Range(0, 333)).Select(i => 1000 + i), blocks.SelectMany(x => x.TokenIds));
    }

    [Fact]
    public void The_torch_writer_emits_the_pickle_torch_save_wrote_for_the_fixture()
    {
        using var zip = ZipFile.OpenRead(File("torch", "tensor_f32.pt"));
        var pkl = ReadEntry(zip, "tensor_f32/data.pkl");
        var data = ReadEntry(zip, "tensor_f32/data/0");
        Assert.Equal(pkl, TorchWriter.Pickle(new[] { new TorchTensorData("", DType.F32, new long[] { 3, 4 }, data) }));
    }

    static byte[] ReadEntry(ZipArchive zip, string name)
    {
        using var s = zip.GetEntry(name)!.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    [Theory]
    [InlineData("pt", ".pt")]
    [InlineData("npz-deflated", ".npz")]
    [InlineData("safetensors", ".safetensors")]
    public void The_first_block_is_read_without_allocating_the_chunk(string format, string ext)
    {
        using var tmp = new TempDir();
        var dir = tmp["big"];
        Directory.CreateDirectory(dir);
        int rows = 4000, d = 1000; // 16 MB as float32
        WriteChunk(Path.Combine(dir, "acts_chunk0" + ext), format, DType.F32, Matrix(rows, d, 3), rows, d);
        var dump = ForeignDump.Open(dir);
        long before = GC.GetAllocatedBytesForCurrentThread();
        using (var e = dump.ReadBlocks(256).GetEnumerator())
        {
            Assert.True(e.MoveNext());
            Assert.Equal(256, e.Current.Rows);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long chunk = (long)rows * d * 4;
        Assert.True(allocated < chunk / 4, $"{format}: the first 256-row block allocated {allocated:N0} bytes for a {chunk:N0}-byte chunk");
    }

    [Fact]
    public void A_truncated_pt_storage_names_the_file()
    {
        using var tmp = new TempDir();
        var dir = tmp["t"];
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "x_chunk0.pt");
        var x = Matrix(64, 8, 4);
        // the pickle promises 64 × 8 floats; the storage entry holds half of them
        using (var fs = System.IO.File.Create(path))
        using (var zip = new ZipArchive(fs, ZipArchiveMode.Create))
        {
            void Add(string n, byte[] b) { using var s = zip.CreateEntry("x_chunk0/" + n, CompressionLevel.NoCompression).Open(); s.Write(b); }
            Add("data.pkl", TorchWriter.Pickle(new[] { new TorchTensorData("", DType.F32, new long[] { 64, 8 }, Bytes(DType.F32, x)) }));
            Add("data/0", Bytes(DType.F32, x)[..1024]);
        }
        var e = Assert.Throws<UserError>(() => ForeignDump.Open(dir).ReadBlocks(16).ToList());
        Assert.Contains("x_chunk0.pt", e.Message);
        Assert.Contains("2,048 bytes", e.Message);
    }
}
