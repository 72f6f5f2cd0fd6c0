using SaeGuard.Common;

namespace SaeGuard.Gguf;

/// <summary>
/// The GGUF architectures whose capture SaeGuard verifies (docs/MODELS.md), and the tensors each needs,
/// checked on the header before llama.cpp loads the file so that an unknown architecture or an
/// incomplete file is a message naming it rather than a failure inside llama.cpp.
/// </summary>
public static class GgufArchitectures
{
    /// <summary>Architecture → the families verified under it.</summary>
    public static readonly IReadOnlyDictionary<string, string> Supported = new Dictionary<string, string>
    {
        ["llama"] = "Llama 2, Llama 3.x, Mistral 7B",
        ["qwen2"] = "Qwen2, Qwen2.5",
        ["gemma2"] = "Gemma 2",
        ["phi3"] = "Phi-3",
    };

    /// <summary>Throws a <see cref="UserError"/> unless the architecture is supported and every tensor it needs is present.</summary>
    public static void Validate(GgufFile header)
    {
        string arch = header.Architecture;
        if (!Supported.ContainsKey(arch))
            throw new UserError($"'{header.Path}': GGUF architecture '{arch}' is not supported; SaeGuard captures " +
                string.Join(", ", Supported.Select(kv => $"{kv.Key} ({kv.Value})")) + ".");
        long layers = header.GetArchInt("block_count") ?? throw new UserError($"'{header.Path}' has no {arch}.block_count in its GGUF metadata.");
        var names = header.Tensors.Select(t => t.Name).ToHashSet();
        foreach (var name in Required(header, arch, layers))
            if (!names.Contains(name))
                throw new UserError($"'{header.Path}' has no tensor '{name}', which a {arch} model of {layers} blocks needs (the file is incomplete, or not written by llama.cpp's converter).");
    }

    static IEnumerable<string> Required(GgufFile header, string arch, long layers)
    {
        yield return "token_embd.weight";
        yield return "output_norm.weight"; // output.weight may be absent: the head is then tied to token_embd
        bool moe = (header.GetArchInt("expert_count") ?? 0) > 0;
        for (long l = 0; l < layers; l++)
        {
            string p = $"blk.{l}.";
            var block = new List<string> { "attn_norm", "attn_output", "ffn_norm" };
            if (arch == "phi3")
            {
                // phi3 converts to one fused QKV; llama.cpp also reads separate projections
                if (!header.Tensors.Any(t => t.Name == p + "attn_q.weight")) block.Add("attn_qkv");
                else block.AddRange(new[] { "attn_q", "attn_k", "attn_v" });
                block.AddRange(new[] { "ffn_up", "ffn_down" }); // gate and up fused in ffn_up
            }
            else
            {
                block.AddRange(new[] { "attn_q", "attn_k", "attn_v" });
                block.AddRange(moe ? new[] { "ffn_gate_inp", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps" } : new[] { "ffn_gate", "ffn_up", "ffn_down" });
            }
            if (arch == "gemma2") block.AddRange(new[] { "post_attention_norm", "post_ffw_norm" });
            foreach (var t in block) yield return p + t + ".weight";
            if (arch == "qwen2") foreach (var t in new[] { "attn_q", "attn_k", "attn_v" }) yield return p + t + ".bias";
        }
    }
}
