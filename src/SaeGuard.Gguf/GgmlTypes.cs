namespace SaeGuard.Gguf;

/// <summary>ggml tensor types as numbered in GGUF files, with their block sizes (for byte counts).</summary>
public static class GgmlTypes
{
    public const uint F32 = 0;
    public const uint F16 = 1;

    // type id → (bytes per block, elements per block); from ggml's type traits.
    static readonly Dictionary<uint, (int Bytes, int Block)> Sizes = new()
    {
        [0] = (4, 1), [1] = (2, 1), [2] = (18, 32), [3] = (20, 32), [6] = (22, 32), [7] = (24, 32),
        [8] = (34, 32), [9] = (36, 32), [10] = (84, 256), [11] = (110, 256), [12] = (144, 256),
        [13] = (176, 256), [14] = (210, 256), [15] = (292, 256), [16] = (66, 256), [17] = (74, 256),
        [18] = (98, 256), [19] = (50, 256), [20] = (18, 32), [21] = (110, 256), [22] = (82, 256),
        [23] = (136, 256), [24] = (1, 1), [25] = (2, 1), [26] = (4, 1), [27] = (8, 1), [28] = (8, 1),
        [29] = (56, 256), [30] = (2, 1), [34] = (54, 256), [35] = (66, 256), [39] = (17, 32),
    };

    /// <summary>Bytes of a tensor of <paramref name="elements"/> values, or null for a type this table does not know.</summary>
    public static long? ByteCount(uint type, long elements) =>
        Sizes.TryGetValue(type, out var s) ? elements / s.Block * s.Bytes : null;

    public static string Name(uint type) => type switch
    {
        0 => "f32", 1 => "f16", 2 => "q4_0", 3 => "q4_1", 6 => "q5_0", 7 => "q5_1", 8 => "q8_0",
        10 => "q2_k", 11 => "q3_k", 12 => "q4_k", 13 => "q5_k", 14 => "q6_k", 30 => "bf16",
        _ => $"type{type}",
    };
}
