namespace SaeGuard.Models;

/// <summary>A text turned into model tokens: ids, their texts, and which are special ([CLS], [SEP], BOS…).</summary>
public sealed record TokenizedText(int[] Ids, bool[] IsSpecial, bool Truncated)
{
    public int Length => Ids.Length;
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
