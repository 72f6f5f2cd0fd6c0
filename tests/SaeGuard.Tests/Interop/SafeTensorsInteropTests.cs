using System.Buffers.Binary;
using System.Text;
using SaeGuard.IO;
using SaeGuard.Tests.Infrastructure;
using static SaeGuard.Tests.Interop.InteropFixtures;

namespace SaeGuard.Tests.Interop;

public class SafeTensorsInteropTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AllDtypesMatchPython(bool mapped)
    {
        using var r = new SafeTensorsReader(File("safetensors", "all_dtypes.safetensors"), mapped);
        Assert.Equal(mapped, r.IsMemoryMapped);
        foreach (var key in Keys("safetensors/all_dtypes.safetensors"))
            AssertExact(Expect("safetensors/all_dtypes.safetensors", key), r.ReadTensor(key), key);
        Assert.Equal("fixture", r.Metadata["note"]);
    }

    [Fact]
    public void MappedSpanViewsTheSameBytes()
    {
        var path = File("safetensors", "all_dtypes.safetensors");
        using var plain = new SafeTensorsReader(path);
        using var mapped = SafeTensorsReader.OpenMapped(path);
        foreach (var key in plain.Tensors.Keys)
            Assert.Equal(plain.ReadBytes(key), mapped.GetSpan(key).ToArray());
        var rows = new float[4];
        mapped.ReadFloatRows("f32", 1, 1, rows);
        Assert.Equal(plain.ReadFloats("f32").Skip(4).Take(4), rows);
    }

    [Fact]
    public void WriterRoundTripsEveryDtype()
    {
        using var tmp = new TempDir();
        var path = tmp["w.safetensors"];
        var f = new float[] { 1.5f, -2.25f, 1e-3f, 65504f };
        new SafeTensorsWriter()
            .AddF32("f32", f, 2, 2).AddF16("f16", f, 4).AddBF16("bf16", f, 4)
            .AddF64("f64", new[] { Math.PI, -1e300 }, 2).AddI64("i64", new[] { long.MinValue, 7L }, 2)
            .AddI32("i32", new[] { -1, int.MaxValue }, 2).AddU8("u8", new byte[] { 0, 255 }, 2)
            .AddBool("bool", new[] { true, false, true }, 3)
            .Save(path);
        using var r = new SafeTensorsReader(path);
        Assert.Equal(f, r.ReadTensor("f32").ToFloat32());
        Assert.Equal(new float[] { 1.5f, -2.25f, (float)(Half)1e-3f, 65504f }, r.ReadTensor("f16").ToFloat32());
        Assert.Equal(f.Select(v => DTypes.Bf16ToFloat(DTypes.FloatToBf16(v))), r.ReadTensor("bf16").ToFloat32());
        Assert.Equal(new[] { Math.PI, -1e300 }, r.ReadTensor("f64").ToFloat64());
        Assert.Equal(new[] { long.MinValue, 7L }, r.ReadTensor("i64").ToInt64());
        Assert.Equal(new long[] { -1, int.MaxValue }, r.ReadTensor("i32").ToInt64());
        Assert.Equal(new long[] { 0, 255 }, r.ReadTensor("u8").ToInt64());
        Assert.Equal(new[] { true, false, true }, r.ReadTensor("bool").ToBool());
        Assert.Equal(DType.Bool, r.Tensors["bool"].DType);
    }

    static string WriteRaw(TempDir tmp, string header, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteInt64LittleEndian(b, h.Length);
        h.CopyTo(b, 8);
        var path = tmp["h.safetensors"];
        System.IO.File.WriteAllBytes(path, b);
        return path;
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "fall outside the data section")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "but its offsets span 8")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "negative dimension")]
    [InlineData("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "unsupported dtype 'C64'")]
    [InlineData("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "malformed safetensors header")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4, "malformed safetensors header")]
    public void HostileHeadersAreRefused(string header, int dataBytes, string message)
    {
        using var tmp = new TempDir();
        var path = WriteRaw(tmp, header, dataBytes);
        var e = Assert.Throws<InvalidDataException>(() => new SafeTensorsReader(path));
        Assert.Contains(message, e.Message);
    }
}
