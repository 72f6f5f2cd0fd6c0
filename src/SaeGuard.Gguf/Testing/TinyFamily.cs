namespace SaeGuard.Gguf.Testing;

/// <summary>The model families SaeGuard verifies on GGUF, each written as llama.cpp's converter writes it.</summary>
public enum TinyFamily
{
    /// <summary>Llama 2 style: "llama" architecture, MHA/GQA, rope θ 10,000.</summary>
    Llama,
    /// <summary>Llama 3.x: "llama" architecture, GQA 4:1, rope θ 500,000 with per-frequency factors (rope_freqs), a large vocabulary.</summary>
    Llama3,
    /// <summary>Mistral 7B: "llama" architecture (as convert_hf_to_gguf.py writes it), GQA 4:1, rope θ 1,000,000, a sliding window in the metadata.</summary>
    Mistral,
    /// <summary>Qwen2 / Qwen2.5: "qwen2", Q/K/V biases, NEOX rope, tied output head, no BOS.</summary>
    Qwen2,
    /// <summary>Gemma 2: "gemma2", embeddings × √d, four norms per block, GeGLU, soft-capping, alternating sliding-window layers, head size ≠ d / heads.</summary>
    Gemma2,
    /// <summary>Phi-3: "phi3", fused QKV and fused gate-up projections, NEOX rope, no BOS.</summary>
    Phi3,
}

public static class TinyFamilies
{
    public static readonly TinyFamily[] All = Enum.GetValues<TinyFamily>();

    /// <summary>A tiny random model of <paramref name="family"/> (n_embd 64, 4 blocks unless changed).</summary>
    public static TinyLlamaSpec Spec(TinyFamily family, int seed = 1) => family switch
    {
        TinyFamily.Llama => new TinyLlamaSpec { Seed = seed },
        TinyFamily.Llama3 => new TinyLlamaSpec
        {
            Family = family, Name = "tiny-random-llama3", Seed = seed, NHead = 8, NHeadKv = 2, NFf = 160, RopeBase = 500000f,
            RopeFreqs = true, VocabSize = 4096, Bos = "<|begin_of_text|>", Eos = "<|eot_id|>",
            Controls = new[] { "<|start_header_id|>", "<|end_header_id|>", "<|end_of_text|>" }, ChatTemplate = null,
        },
        TinyFamily.Mistral => new TinyLlamaSpec
        {
            Family = family, Name = "tiny-random-mistral", Seed = seed, NHead = 8, NHeadKv = 2, NFf = 192, RopeBase = 1000000f,
            SlidingWindow = 4, Controls = new[] { "[INST]", "[/INST]" }, ChatTemplate = null,
        },
        TinyFamily.Qwen2 => new TinyLlamaSpec
        {
            Family = family, Name = "tiny-random-qwen2", Seed = seed, RopeBase = 1000000f, RmsEps = 1e-6f, QkvBias = true, TiedOutput = true,
            AddBos = false, Bos = "<|endoftext|>", Eos = "<|im_end|>", Controls = new[] { "<|im_start|>" }, ChatTemplate = null,
        },
        TinyFamily.Gemma2 => new TinyLlamaSpec
        {
            Family = family, Name = "tiny-random-gemma2", Seed = seed, KeyLength = 24, RmsEps = 1e-6f, TiedOutput = true,
            SlidingWindow = 4, AttnSoftcap = 1.5f, FinalSoftcap = 2f, Bos = "<bos>", Eos = "<eos>",
            Controls = new[] { "<start_of_turn>", "<end_of_turn>" }, ChatTemplate = null,
        },
        TinyFamily.Phi3 => new TinyLlamaSpec
        {
            // llama.cpp marks every special token of a "phi3"-named model right-stripping, and looks up </s> for it.
            Family = family, Name = "tiny-random-phi3", Seed = seed, NHeadKv = 4, SlidingWindow = 4, AddBos = false,
            Controls = new[] { "<|endoftext|>", "<|assistant|>", "<|end|>", "<|system|>", "<|user|>" }, ChatTemplate = null,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    /// <summary>The GGUF general.architecture a family is stored under.</summary>
    public static string Architecture(TinyFamily family) => family switch
    {
        TinyFamily.Llama or TinyFamily.Llama3 or TinyFamily.Mistral => "llama",
        TinyFamily.Qwen2 => "qwen2",
        TinyFamily.Gemma2 => "gemma2",
        TinyFamily.Phi3 => "phi3",
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };
}
