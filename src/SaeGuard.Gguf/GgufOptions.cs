namespace SaeGuard.Gguf;

/// <summary>How llama.cpp runs a GGUF model for SaeGuard (CPU).</summary>
public sealed record GgufOptions
{
    /// <summary>CPU threads; 0 = all cores.</summary>
    public int Threads { get; init; }
    /// <summary>Longest document in tokens (BOS included); longer ones are truncated. Default: min(2048, the model's context).</summary>
    public int? MaxLength { get; init; }
    /// <summary>Tokens per llama_decode call.</summary>
    public int Batch { get; init; } = 512;
    /// <summary>Tokens per micro-batch inside a decode call (llama.cpp n_ubatch).</summary>
    public int MicroBatch { get; init; } = 512;
    /// <summary>Documents packed into one KV cache (as separate sequences) per forward.</summary>
    public int MaxSequences { get; init; } = 64;
    /// <summary>
    /// Chat template every text is wrapped in as a user turn before tokenizing: null or "none" (plain
    /// text), "auto" (the GGUF's tokenizer.chat_template) or a llama.cpp built-in name ("gemma", "chatml", …).
    /// </summary>
    public string? Template { get; init; }
    /// <summary>true = <see cref="Template"/> "auto", false = none.</summary>
    public bool ChatTemplate
    {
        get => Template is not (null or "none");
        init => Template = value ? "auto" : null;
    }
    /// <summary>Flash attention (faster on long texts; values differ from an exact forward by ~1e-3 with an f16 cache).</summary>
    public bool FlashAttention { get; init; }
    /// <summary>f32 KV cache (exact); false = f16 (half the memory).</summary>
    public bool F32KvCache { get; init; } = true;
    /// <summary>Stop the forward after the captured layer (skips later layers and the output head).</summary>
    public bool EarlyExit { get; init; } = true;
    /// <summary>Install the capture callback; false (benchmarks only) runs plain llama.cpp and returns zero rows.</summary>
    internal bool Capture { get; init; } = true;
    /// <summary>Reserve logits for every token of a decode call (splicing evaluation reads them all).</summary>
    internal bool AllLogits { get; init; }

    public int ResolvedThreads => Threads > 0 ? Threads : Environment.ProcessorCount;
}
