using System.Text;

namespace SaeGuard.Sae.Backend;

/// <summary>
/// Bytes of a one-node ONNX model Y = A·B(ᵀ) + C (op Gemm, opset 13) with symbolic shapes, so a
/// single ONNX Runtime session serves every size. Written as raw protobuf (no generated classes).
/// </summary>
static class GemmModel
{
    public static byte[] Build(bool transB)
    {
        var node = Msg(
            Str(1, "A"), Str(1, "B"), Str(1, "C"), Str(2, "Y"), Str(3, "gemm"), Str(4, "Gemm"),
            Bytes(5, Msg(Str(1, "transB"), VarintField(3, transB ? 1UL : 0UL), VarintField(20, 2))));
        var graph = Msg(
            Bytes(1, node), Str(2, "sae_gemm"),
            Bytes(11, Tensor("A", "n", "k")),
            Bytes(11, transB ? Tensor("B", "m", "k") : Tensor("B", "k", "m")),
            Bytes(11, Tensor("C", "m")),
            Bytes(12, Tensor("Y", "n", "m")));
        return Msg(
            VarintField(1, 8),                                   // ir_version
            Str(2, "saeguard"),                                  // producer_name
            Bytes(7, graph),
            Bytes(8, Msg(Str(1, ""), VarintField(2, 13))));      // opset_import
    }

    // ValueInfoProto{name, type{tensor_type{elem_type=FLOAT, shape{dim{dim_param}…}}}}
    static byte[] Tensor(string name, params string[] dims)
    {
        var shape = Msg(dims.Select(d => Bytes(1, Msg(Str(2, d)))).ToArray());
        var tensorType = Msg(VarintField(1, 1), Bytes(2, shape));
        return Msg(Str(1, name), Bytes(2, Msg(Bytes(1, tensorType))));
    }

    static byte[] Msg(params byte[][] fields) => fields.SelectMany(f => f).ToArray();
    static byte[] Str(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));
    static byte[] Bytes(int field, byte[] payload) => Msg(Varint((ulong)(field << 3 | 2)), Varint((ulong)payload.Length), payload);
    static byte[] VarintField(int field, ulong v) => Msg(Varint((ulong)(field << 3)), Varint(v));

    static byte[] Varint(ulong v)
    {
        var b = new List<byte>();
        do { byte x = (byte)(v & 0x7F); v >>= 7; if (v != 0) x |= 0x80; b.Add(x); } while (v != 0);
        return b.ToArray();
    }
}
