using System.Text;
using SaeGuard.IO.Torch;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Interop;

/// <summary>Hand-assembled pickles: each must be refused with a message that names the problem.</summary>
public class PickleHostileTests
{
    static byte[] P(string s) => Encoding.Latin1.GetBytes(s);

    static string LoadError(byte[] pickle, params (string, byte[])[] storages)
    {
        using var tmp = new TempDir();
        var path = tmp["x.pt"];
        TorchZip.WritePickle(path, pickle, storages);
        return Assert.Throws<InvalidDataException>(() => TorchPickleReader.Load(path)).Message;
    }

    static object? Load(byte[] pickle, params (string, byte[])[] storages)
    {
        using var tmp = new TempDir();
        var path = tmp["x.pt"];
        TorchZip.WritePickle(path, pickle, storages);
        return TorchPickleReader.Load(path);
    }

    [Fact]
    public void GlobalPosixSystemIsRefused() =>
        Assert.Contains("'posix.system'", LoadError(P("\u0080\u0002cposix\nsystem\nX\u0004\u0000\u0000\u0000echo\u0085R.")));

    [Fact]
    public void StackGlobalBuiltinsEvalIsRefused() =>
        Assert.Contains("'builtins.eval'", LoadError(P("\u0080\u0004\u008c\u0008builtins\u0094\u008c\u0004eval\u0094\u0093\u0094\u008c\u00011\u0085R.")));

    [Fact]
    public void InstOpcodeIsRefusedByName() =>
        Assert.Contains("'os.system'", LoadError(P("(X\u0002\u0000\u0000\u0000idios\nsystem\n.")));

    [Fact]
    public void NewObjOnAnAllowedGlobalIsStillRefused() =>
        Assert.Contains("NEWOBJ", LoadError(P("\u0080\u0002ccollections\nOrderedDict\n)\u0081.")));

    [Fact]
    public void ReduceOfAStorageTypeIsRefused() =>
        Assert.Contains("storages must come from persistent ids", LoadError(P("\u0080\u0002ctorch\nFloatStorage\n)R.")));

    [Fact]
    public void ExtensionCodesAreRefused() =>
        Assert.Contains("extension codes", LoadError(P("\u0080\u0002\u0082\u0001.")));

    [Fact]
    public void SelfReferencingListIsRefused() =>
        Assert.Contains("nests deeper", LoadError(P("\u0080\u0002]q\u0000h\u0000a.")));

    [Fact]
    public void StringLengthPastTheEndIsRefused() =>
        Assert.Contains("runs past the end", LoadError(P("\u0080\u0002X\u00ff\u00ff\u00ff\u007fabc.")));

    static string Tensor(string key, int numel, int offset, string size, string stride) =>
        "\u0080\u0002ctorch._utils\n_rebuild_tensor_v2\n((X\u0007\u0000\u0000\u0000storagectorch\nFloatStorage\nX\u0001\u0000\u0000\u0000" + key +
        "X\u0003\u0000\u0000\u0000cpuK" + (char)numel + "tQK" + (char)offset + size + stride + "\u0089ccollections\nOrderedDict\n)RtR.";

    [Fact]
    public void ViewOutsideItsStorageIsRefused()
    {
        var data = new byte[16];
        // 4-element storage, offset 2, size (3,) stride (1,) → reaches element 4
        var msg = LoadError(P(Tensor("0", 4, 2, "K\u0003\u0085", "K\u0001\u0085")), ("0", data));
        Assert.Contains("reaches element 4 of a 4-element storage", msg);
    }

    [Fact]
    public void HandBuiltTensorWithStridesReadsCorrectly()
    {
        var vals = new float[] { 0, 1, 2, 3, 4, 5 };
        var data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(vals.AsSpan()).ToArray();
        // storage of 6, offset 1, size (2, 2), stride (1, 2) → [[1, 3], [2, 4]]
        var t = Assert.IsType<TorchTensor>(Load(P(Tensor("0", 6, 1, "K\u0002K\u0002\u0086", "K\u0001K\u0002\u0086")), ("0", data)));
        Assert.Equal(new float[] { 1, 3, 2, 4 }, SaeGuard.IO.TensorDataExtensions.ToFloat32(t));
    }

    [Fact]
    public void MissingStorageEntryIsNamed() =>
        Assert.Contains("storage '7' is missing", LoadError(P(Tensor("7", 4, 0, "K\u0004\u0085", "K\u0001\u0085"))));
}
