using SaeGuard.Models;

namespace SaeGuard.Eval;

/// <summary>
/// Rewrites the hooked layer's rows of one forward chunk in place: <paramref name="rows"/> is
/// [count, width] row-major, row i belongs to document <paramref name="docs"/>[i] (index into the
/// documents of the <see cref="ISplicedModel.Forward"/> call) at token position <paramref name="positions"/>[i].
/// </summary>
public delegate void RowSplice(Span<float> rows, ReadOnlySpan<int> docs, ReadOnlySpan<int> positions);

/// <summary>What a spliced model's outputs are.</summary>
public enum SpliceOutput
{
    /// <summary>Next-token logits [tokens, vocab] (decoder LMs).</summary>
    Logits,
    /// <summary>Last hidden states [tokens, width] (encoders); the sentence embedding is their mean.</summary>
    HiddenStates,
}

/// <summary>
/// A model whose forward pass can read a rewritten hooked layer: the layer's output is replaced by
/// what a <see cref="RowSplice"/> makes of it, and the later blocks run on that.
/// </summary>
public interface ISplicedModel : IDisposable
{
    string ModelName { get; }
    string ModelSha256 { get; }
    int Layer { get; }
    /// <summary>Width of the hooked layer (the SAE's d_in).</summary>
    int Width { get; }
    SpliceOutput Output { get; }
    /// <summary>Values per token of the output (vocabulary or hidden width).</summary>
    int OutputWidth { get; }
    /// <summary>Most tokens (summed over documents) one <see cref="Forward"/> call takes.</summary>
    int MaxPackTokens { get; }
    /// <summary>Most documents one <see cref="Forward"/> call takes.</summary>
    int MaxPackDocs { get; }
    /// <summary>How the hook is reached, for eval.json (e.g. "llama.cpp cb_eval on l_out-3").</summary>
    string HookDescription { get; }
    TokenizedText Tokenize(string text);

    /// <summary>
    /// Runs the documents as separate sequences; <paramref name="splice"/> (null = clean forward)
    /// rewrites the hooked rows. Returns per document its outputs [tokens, OutputWidth]; with
    /// <paramref name="hooked"/> also the clean hooked rows [tokens, Width] per document.
    /// </summary>
    IReadOnlyList<float[]> Forward(IReadOnlyList<TokenizedText> docs, RowSplice? splice, float[][]? hooked = null);
}
