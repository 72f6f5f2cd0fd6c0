using SaeGuard.IO;
using SaeGuard.IO.Pickle;
using SaeGuard.IO.Torch;
using static SaeGuard.Tests.Interop.InteropFixtures;

namespace SaeGuard.Tests.Interop;

public class TorchReaderTests
{
    [Fact]
    public void BareTensorMatchesPython()
    {
        var t = Assert.IsType<TorchTensor>(TorchPickleReader.Load(File("torch", "tensor_f32.pt")));
        AssertExact(Expect("torch/tensor_f32.pt"), t, "tensor_f32");
        Assert.True(t.IsContiguous);
    }

    [Fact]
    public void DictWithF16TensorAndMetadata()
    {
        var root = Assert.IsType<PyDict>(TorchPickleReader.Load(File("torch", "dict_f16_meta.pt")));
        var feats = Assert.IsType<TorchTensor>(root["feats"]);
        Assert.Equal(DType.F16, feats.DType);
        AssertExact(Expect("torch/dict_f16_meta.pt", "feats"), feats, "feats");
        var meta = Assert.IsType<PyDict>(root["meta"]);
        Assert.Equal(20L, meta["layer"]);
        Assert.Equal("resid_post", meta["name"]);
        Assert.Equal(0.5, meta["scale"]);
        Assert.Equal(new List<object?> { 1L, 2L, 3L }, meta["ids"]);
        Assert.Equal(true, meta["flag"]);
        Assert.Null(meta["none"]);
        Assert.Equal(new object?[] { 7L, "seven" }, meta["pair"]);
        Assert.Equal(1L << 40, meta["big"]);
        Assert.Equal(-3L, meta["neg"]);
    }

    [Fact]
    public void StateDictKeepsOrderAndValues()
    {
        var sd = Assert.IsType<PyDict>(TorchPickleReader.Load(File("torch", "state_dict.pt")));
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, sd.Keys.Cast<string>());
        foreach (var key in Keys("torch/state_dict.pt"))
            AssertExact(Expect("torch/state_dict.pt", key), (TorchTensor)sd[key]!, key);
        Assert.IsType<PyDict>(sd.State); // the OrderedDict's _metadata attribute, set by BUILD
    }

    [Fact]
    public void NonContiguousViewWithStorageOffset()
    {
        var root = Assert.IsType<PyDict>(TorchPickleReader.Load(File("torch", "view_offset.pt")));
        var view = Assert.IsType<TorchTensor>(root["view"]);
        var b = Assert.IsType<TorchTensor>(root["base"]);
        Assert.Equal(8, view.StorageOffset);
        Assert.Equal(new long[] { 1, 6 }, view.Stride);
        Assert.False(view.IsContiguous);
        Assert.Same(b.Storage, view.Storage); // one storage, read once
        AssertExact(Expect("torch/view_offset.pt", "view"), view, "view");
        AssertExact(Expect("torch/view_offset.pt", "base"), b, "base");
        var only = Assert.IsType<TorchTensor>(TorchPickleReader.Load(File("torch", "view_only.pt")));
        AssertExact(Expect("torch/view_only.pt"), only, "view_only");
    }

    [Fact]
    public void EveryStorageDtype()
    {
        var root = Assert.IsType<PyDict>(TorchPickleReader.Load(File("torch", "dtypes.pt")));
        foreach (var key in Keys("torch/dtypes.pt"))
            AssertExact(Expect("torch/dtypes.pt", key), (TorchTensor)root[key]!, key);
        Assert.Empty(((TorchTensor)root["scalar"]!).Shape);
        Assert.Equal(3.5, ((TorchTensor)root["scalar"]!).Scalar());
    }

    [Fact]
    public void FlattenGivesDottedPaths()
    {
        var flat = TorchPickleReader.FlattenTensors(TorchPickleReader.Load(File("sae", "plain", "ckpt_epoch_15.pt")));
        Assert.Contains("model_state_dict.encoder.weight", flat.Keys);
        Assert.Contains("optimizer_state_dict.state.0.exp_avg", flat.Keys);
        Assert.Equal(new long[] { 10, 6 }, flat["model_state_dict.encoder.weight"].Shape);
    }

    [Theory]
    [InlineData("hostile_os_system.pt", "posix.system")]
    [InlineData("hostile_eval.pt", "__builtin__.eval")] // protocol 2 writes Python 3 builtins under their Python 2 name
    [InlineData("hostile_unknown_class.pt", "__main__.Custom")]
    public void HostileTorchFilesAreRefusedByName(string file, string global)
    {
        var marker = "/tmp/saeguard_pwned_by_fixture";
        if (System.IO.File.Exists(marker)) System.IO.File.Delete(marker);
        var e = Assert.Throws<InvalidDataException>(() => TorchPickleReader.Load(File("torch", file)));
        Assert.Contains($"'{global}'", e.Message);
        Assert.Contains("not on the allow-list", e.Message);
        Assert.False(System.IO.File.Exists(marker));
    }

    [Fact]
    public void LegacyAndNonZipFilesGetAClearMessage()
    {
        using var tmp = new Infrastructure.TempDir();
        var legacy = tmp["legacy.pt"];
        System.IO.File.WriteAllBytes(legacy, new byte[] { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e });
        Assert.Contains("legacy torch.save format", Assert.Throws<InvalidDataException>(() => TorchPickleReader.Load(legacy)).Message);
        var text = tmp["text.pt"];
        System.IO.File.WriteAllText(text, "hello world");
        Assert.Contains("not a PyTorch .pt file", Assert.Throws<InvalidDataException>(() => TorchPickleReader.Load(text)).Message);
    }

    [Fact]
    public void StorageEntryOfTheWrongSizeIsRefused()
    {
        using var tmp = new Infrastructure.TempDir();
        var bytes = System.IO.File.ReadAllBytes(File("torch", "tensor_f32.pt"));
        var path = tmp["cut.pt"];
        TorchZip.Rewrite(bytes, path, (name, data) => name.EndsWith("data/0") ? data[..20] : data);
        var e = Assert.Throws<InvalidDataException>(() => TorchPickleReader.Load(path));
        Assert.Contains("storage '0' should hold 12", e.Message);
    }
}

public class TorchZipForgeryTests
{
    [Fact]
    public void ForgedStoredSizesAreRefusedWithoutAllocating()
    {
        var b = System.IO.File.ReadAllBytes(File("torch", "tensor_f32.pt"));
        // central directory records: sizes at +20 (packed) and +24 (unpacked); forge every entry's
        for (int i = 0; i + 46 < b.Length; i++)
            if (b[i] == 0x50 && b[i + 1] == 0x4b && b[i + 2] == 1 && b[i + 3] == 2)
            {
                BitConverter.TryWriteBytes(b.AsSpan(i + 20, 4), 0x60000000u);
                BitConverter.TryWriteBytes(b.AsSpan(i + 24, 4), 0x60000000u);
            }
        using var tmp = new Infrastructure.TempDir();
        System.IO.File.WriteAllBytes(tmp["f.pt"], b);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => TorchPickleReader.Load(tmp["f.pt"]));
        Assert.Contains("claims 1,610,612,736 packed bytes", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20);
    }
}

/// <summary>Builds .pt-like zips and raw pickles for hostile-input tests.</summary>
public static class TorchZip
{
    public static void Rewrite(byte[] pt, string path, Func<string, byte[], byte[]> change)
    {
        using var src = new System.IO.Compression.ZipArchive(new MemoryStream(pt));
        using var fs = System.IO.File.Create(path);
        using var dst = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create);
        foreach (var e in src.Entries)
        {
            using var ms = new MemoryStream();
            using (var s = e.Open()) s.CopyTo(ms);
            var ne = dst.CreateEntry(e.FullName, System.IO.Compression.CompressionLevel.NoCompression);
            using var o = ne.Open();
            o.Write(change(e.FullName, ms.ToArray()));
        }
    }

    /// <summary>A .pt archive whose data.pkl is <paramref name="pickle"/>.</summary>
    public static void WritePickle(string path, byte[] pickle, params (string Name, byte[] Data)[] storages)
    {
        using var fs = System.IO.File.Create(path);
        using var zip = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            var e = zip.CreateEntry("archive/" + name, System.IO.Compression.CompressionLevel.NoCompression);
            using var s = e.Open();
            s.Write(data);
        }
        Add("data.pkl", pickle);
        foreach (var (n, d) in storages) Add("data/" + n, d);
        Add("version", "3\n"u8.ToArray());
    }
}
