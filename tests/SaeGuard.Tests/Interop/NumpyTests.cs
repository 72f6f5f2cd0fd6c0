using System.IO.Compression;
using SaeGuard.IO;
using SaeGuard.Tests.Infrastructure;
using static SaeGuard.Tests.Interop.InteropFixtures;

namespace SaeGuard.Tests.Interop;

public class NumpyTests
{
    public static TheoryData<string> NpyFiles => new()
    {
        "f2", "f4", "f8", "i4", "i8", "u1", "b1", "f4_fortran", "i8_fortran_3d", "f4_scalar", "f4_empty", "f4_v2", "f4_v3",
    };

    [Theory]
    [MemberData(nameof(NpyFiles))]
    public void NpyMatchesPython(string name)
    {
        var a = NpyReader.Read(File("numpy", name + ".npy"));
        var e = Expect($"numpy/{name}.npy");
        AssertExact(e, a, name);
        if (e.FortranOrder is { } f) Assert.Equal(f, a.FortranOrder);
    }

    [Theory]
    [InlineData("f2")]
    [InlineData("f4")]
    [InlineData("f8")]
    [InlineData("i4")]
    [InlineData("i8")]
    [InlineData("u1")]
    [InlineData("b1")]
    [InlineData("f4_fortran")]
    [InlineData("f4_scalar")]
    [InlineData("f4_empty")]
    public void WriterReproducesNumpysBytes(string name)
    {
        var path = File("numpy", name + ".npy");
        var ms = new MemoryStream();
        NpyWriter.WriteTo(ms, NpyReader.Read(path));
        Assert.Equal(System.IO.File.ReadAllBytes(path), ms.ToArray());
    }

    [Theory]
    [InlineData("stored.npz")]
    [InlineData("deflated.npz")]
    public void NpzMatchesPython(string file)
    {
        using var r = NpzReader.Open(File("numpy", file));
        Assert.Equal(new[] { "a", "b", "c", "d" }, r.Keys);
        foreach (var key in r.Keys) AssertExact(Expect("numpy/" + file, key), r.Read(key), key);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NpzWriterRoundTrip(bool compress)
    {
        using var tmp = new TempDir();
        var path = tmp["stats.npz"];
        new NpzWriter()
            .Add("firing_rate", new float[] { 0.5f, 0.25f, 0 }, 3)
            .Add("counts", new long[] { 1, 2, 3, 4 }, 2, 2)
            .Add("dead", new[] { true, false, true }, 3)
            .Add("means", new double[] { 1.0 / 3, 2.5 }, 2)
            .Save(path, compress);
        using (var z = ZipFile.OpenRead(path))
            Assert.All(z.Entries, e => Assert.EndsWith(".npy", e.FullName));
        var all = NpzReader.ReadAll(path);
        Assert.Equal(new float[] { 0.5f, 0.25f, 0 }, all["firing_rate"].ToFloat32());
        Assert.Equal(new long[] { 1, 2, 3, 4 }, all["counts"].ToInt64());
        Assert.Equal(new long[] { 2, 2 }, all["counts"].Shape);
        Assert.Equal(new[] { true, false, true }, all["dead"].ToBool());
        Assert.Equal(new[] { 1.0 / 3, 2.5 }, all["means"].ToFloat64());
    }

    /// <summary>A copy of a numpy fixture with one piece of its header text replaced.</summary>
    static string EditedHeader(TempDir tmp, string fixture, string from, string to)
    {
        var text = System.Text.Encoding.Latin1.GetString(System.IO.File.ReadAllBytes(File("numpy", fixture)));
        Assert.Contains(from, text);
        var path = tmp[Guid.NewGuid().ToString("N") + ".npy"];
        System.IO.File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes(text.Replace(from, to)));
        return path;
    }

    [Fact]
    public void HeaderLyingAboutItsSizeIsRefused()
    {
        using var tmp = new TempDir();
        var path = EditedHeader(tmp, "f4.npy", "(3, 4)", "(9, 4)");
        var e = Assert.Throws<InvalidDataException>(() => NpyReader.Read(path));
        Assert.Contains("144 data bytes, but the file holds 48", e.Message);
        var huge = EditedHeader(tmp, "f4.npy", "(3, 4)", "(99999999999, 99999)");
        Assert.Contains("more than one in-memory array can hold", Assert.Throws<InvalidDataException>(() => NpyReader.Read(huge)).Message);
    }

    [Fact]
    public void HeaderIsParsedNotEvaluated()
    {
        using var tmp = new TempDir();
        var path = EditedHeader(tmp, "f4.npy", "'fortran_order': False", "'fortran_order': __import__('os')");
        Assert.Contains("malformed .npy header", Assert.Throws<InvalidDataException>(() => NpyReader.Read(path)).Message);
    }

    [Fact]
    public void ZipBombNpzIsRefusedBeforeUnpacking()
    {
        using var tmp = new TempDir();
        // 16 MiB of zeros deflates to ~16 KiB: declared size ≫ the 1 MiB limit
        var path = tmp["bomb.npz"];
        using (var fs = System.IO.File.Create(path))
        using (var zip = new ZipArchive(fs, ZipArchiveMode.Create))
        {
            var e = zip.CreateEntry("x.npy", CompressionLevel.Optimal);
            using var s = e.Open();
            NpyWriter.WriteTo(s, new DenseTensor(DType.U8, new long[] { 16L << 20 }, new byte[16L << 20]));
        }
        using var r = NpzReader.Open(path, new ReadLimits { MaxEntryBytes = 1 << 20 });
        var ex = Assert.Throws<InvalidDataException>(() => r.Read("x"));
        Assert.Contains("more than the limit of 1,048,576", ex.Message);
        // declared sizes forged to 1.75 GiB (without a limit set): refused by the impossible ratio
        var forged = tmp["forged.npz"];
        System.IO.File.WriteAllBytes(forged, ForgeDeclaredSize(System.IO.File.ReadAllBytes(File("numpy", "deflated.npz")), 0x70000000u));
        using var r2 = NpzReader.Open(forged);
        Assert.Contains("zip bomb", Assert.Throws<InvalidDataException>(() => r2.Read("a")).Message);
    }

    /// <summary>Rewrites every uncompressed-size field (local headers and central directory).</summary>
    static byte[] ForgeDeclaredSize(byte[] zip, uint size)
    {
        var b = (byte[])zip.Clone();
        for (int i = 0; i + 30 < b.Length; i++)
        {
            if (b[i] == 0x50 && b[i + 1] == 0x4b && b[i + 2] == 3 && b[i + 3] == 4) BitConverter.TryWriteBytes(b.AsSpan(i + 22, 4), size);
            if (b[i] == 0x50 && b[i + 1] == 0x4b && b[i + 2] == 1 && b[i + 3] == 2) BitConverter.TryWriteBytes(b.AsSpan(i + 24, 4), size);
        }
        return b;
    }

    [Fact]
    public void BigEndianAndUnsupportedDtypes()
    {
        using var tmp = new TempDir();
        var path = EditedHeader(tmp, "i4.npy", "'<i4'", "'>i4'");
        var be = System.IO.File.ReadAllBytes(path);
        for (int i = be.Length - 16; i < be.Length; i += 4) Array.Reverse(be, i, 4);
        System.IO.File.WriteAllBytes(path, be);
        AssertExact(Expect("numpy/i4.npy"), NpyReader.Read(path), "big-endian i4");
        path = EditedHeader(tmp, "i4.npy", "'<i4'", "'<c8'");
        Assert.Contains("'<c8' is not supported", Assert.Throws<InvalidDataException>(() => NpyReader.Read(path)).Message);
    }
}

public class NpyFloat32Tests
{
    [Theory]
    [InlineData("f4")]
    [InlineData("f4_fortran")]
    [InlineData("f2")]
    [InlineData("i8_fortran_3d")]
    [InlineData("f4_empty")]
    public void ReadFloat32MatchesTheGeneralPath(string name)
    {
        var path = InteropFixtures.File("numpy", name + ".npy");
        var (data, shape) = NpyReader.ReadFloat32(path);
        var a = NpyReader.Read(path);
        Assert.Equal(a.Shape, shape);
        Assert.Equal(a.ToFloat32(), data);
        Assert.Equal(InteropFixtures.Expect($"numpy/{name}.npy").Values.Select(v => (float)v), data);
    }
}
