using System.Text.Json;
using SaeGuard.IO;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Interop;

/// <summary>
/// The fixtures written by tests/fixtures-src/make_interop_fixtures.py (torch.save, np.save,
/// np.savez) and the values Python read back from its own arrays (expected.json).
/// </summary>
public static class InteropFixtures
{
    public static string Dir { get; } = Path.Combine(TestPaths.RepoRoot, "tests", "SaeGuard.Tests", "Fixtures", "interop");

    public static string File(params string[] parts) => Path.Combine(new[] { Dir }.Concat(parts).ToArray());

    static readonly Lazy<JsonElement> Expected = new(() => JsonDocument.Parse(System.IO.File.ReadAllText(File("expected.json"))).RootElement.GetProperty("arrays"));
    static readonly Lazy<JsonElement> SaeExpectedDoc = new(() => JsonDocument.Parse(System.IO.File.ReadAllText(File("sae_expected.json"))).RootElement);

    public sealed record ExpectedArray(string DType, long[] Shape, double[] Values, long[] Ints, bool? FortranOrder);

    public static ExpectedArray Expect(string fixture, string key = "root") => Parse(Expected.Value.GetProperty(fixture).GetProperty(key));

    public static IEnumerable<string> Keys(string fixture) => Expected.Value.GetProperty(fixture).EnumerateObject().Select(p => p.Name);

    public static (ExpectedArray X, ExpectedArray Codes) SaeExpected(string name)
    {
        var e = SaeExpectedDoc.Value.GetProperty(name);
        return (Parse(e.GetProperty("x")), Parse(e.GetProperty("codes")));
    }

    static ExpectedArray Parse(JsonElement e)
    {
        var vals = e.GetProperty("values").EnumerateArray().ToList();
        var ints = vals.Select(v => v.TryGetInt64(out var l) ? l : 0L).ToArray();
        bool? fortran = e.TryGetProperty("fortran_order", out var f) ? f.GetBoolean() : null;
        return new ExpectedArray(e.GetProperty("dtype").GetString()!, e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray(),
            vals.Select(v => v.GetDouble()).ToArray(), ints, fortran);
    }

    /// <summary>Asserts dtype, shape and every value are exactly what Python saw.</summary>
    public static void AssertExact(ExpectedArray expected, ITensorData actual, string what)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape [{string.Join(",", actual.Shape)}], expected [{string.Join(",", expected.Shape)}]");
        Assert.Equal(DTypeOf(expected.DType), actual.DType);
        if (actual.DType is DType.I64 or DType.I32 or DType.I16 or DType.I8 or DType.U8 or DType.Bool)
            Assert.Equal(expected.Ints, actual.ToInt64());
        else
            Assert.Equal(expected.Values, actual.ToFloat64());
    }

    public static DType DTypeOf(string python) => python switch
    {
        "float32" => DType.F32, "float16" => DType.F16, "bfloat16" => DType.BF16, "float64" => DType.F64,
        "int64" => DType.I64, "int32" => DType.I32, "int16" => DType.I16, "int8" => DType.I8,
        "uint8" => DType.U8, "bool" => DType.Bool,
        _ => throw new ArgumentException(python),
    };
}
