namespace SaeGuard.Models;

/// <summary>A text turned into model tokens: ids, their texts, and which are special ([CLS], [SEP], BOS…).</summary>
/// <remarks>
/// When a chat template wraps the text, every token the template added (role markers, turn
/// separators, the assistant-start header) is flagged in <see cref="IsTemplate"/> and also in
/// <see cref="IsSpecial"/>, so consumers that skip special tokens pool over the user's own tokens;
/// the last token of a templated text is the assistant-start position (`--pooling last`).
/// </remarks>
public sealed record TokenizedText(int[] Ids, bool[] IsSpecial, bool Truncated)
{
    public int Length => Ids.Length;

    /// <summary>Per token: added by the chat template (null when no template was applied).</summary>
    public bool[]? IsTemplate { get; init; }
}

/// <summary>
/// A language model that yields, for every token of a text, the residual stream after one layer.
/// ONNX transformers and GGUF LLMs plug in behind this interface.
/// </summary>
public interface IActivationSource : IDisposable
{
    /// <summary>Short model name recorded in meta.json (e.g. "all-MiniLM-L6-v2").</summary>
    string ModelName { get; }
    string ModelSha256 { get; }
    /// <summary>The layer whose output is captured (0-based transformer block).</summary>
    int Layer { get; }
    int LayerCount { get; }
    /// <summary>Residual width d.</summary>
    int Width { get; }
    /// <summary>Hook name, "resid_post" for a block's output.</summary>
    string Hook { get; }
    /// <summary>Longest sequence the model takes, special tokens included.</summary>
    int MaxLength { get; }
    /// <summary>Extra facts for meta.json (architecture, tensor name, …).</summary>
    IReadOnlyDictionary<string, string> Info { get; }

    TokenizedText Tokenize(string text);
    string TokenText(int id);
    int VocabSize { get; }

    /// <summary>Runs a batch; returns per text a row-major [tokens, Width] array.</summary>
    IReadOnlyList<float[]> Run(IReadOnlyList<TokenizedText> batch);
}
