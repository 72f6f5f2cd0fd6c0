using SaeGuard.Common;
using SaeGuard.Models;

namespace SaeGuard.Eval;

/// <summary>
/// An ONNX transformer split at the hooked layer: the prefix (<see cref="OnnxTransformerSource"/>,
/// pruned to the layer's residual tensor) yields the hidden state, a <see cref="RowSplice"/> may
/// rewrite it, and the suffix graph (<see cref="OnnxSuffixSession"/>, the tensor as an input) runs the
/// remaining blocks: to <c>logits</c> for a decoder LLM (GPT-2, Llama, Qwen, Phi, Gemma exports),
/// to <c>last_hidden_state</c> for an encoder (MiniLM).
/// </summary>
/// <remarks>
/// The prefix's rows of the last <see cref="Forward"/> call are kept: a call with the same document
/// list (the same list object holding the same <see cref="TokenizedText"/> objects, as
/// <see cref="SpliceEvaluator"/> passes for every variant of a pack) runs only the suffix.
/// </remarks>
public sealed class OnnxSplicedModel : ISplicedModel
{
    readonly OnnxTransformerSource _prefix;
    readonly OnnxSuffixSession? _suffix;
    IReadOnlyList<TokenizedText>? _lastList;
    TokenizedText[] _lastDocs = Array.Empty<TokenizedText>();
    float[][] _lastRows = Array.Empty<float[]>();

    public string ModelName => _prefix.ModelName;
    public string ModelSha256 => _prefix.ModelSha256;
    public int Layer => _prefix.Layer;
    public int Width => _prefix.Width;
    public SpliceOutput Output { get; }
    public int OutputWidth { get; }
    public int MaxPackTokens => 16 * _prefix.MaxLength;
    public int MaxPackDocs => 16;
    public string HookDescription { get; }
    /// <summary>The graph output the suffix yields.</summary>
    public string OutputTensor { get; }

    public OnnxSplicedModel(OnnxTransformerSource prefix, int threads = 0)
    {
        _prefix = prefix;
        var graph = prefix.Graph;
        bool decoder = prefix.Blocks?.IsDecoder == true;
        Output = decoder ? SpliceOutput.Logits : SpliceOutput.HiddenStates;
        OutputTensor = graph.Outputs.Contains(decoder ? "logits" : "last_hidden_state") ? (decoder ? "logits" : "last_hidden_state") : graph.Outputs[0];
        HookDescription = $"ONNX graph split at tensor '{prefix.TensorName}' (resid_post of block {Layer}); suffix graph to '{OutputTensor}'";
        if (prefix.TensorName == OutputTensor) { OutputWidth = prefix.Width; return; } // an encoder's last block: the hooked tensor is the output
        _suffix = new OnnxSuffixSession(graph, prefix.ModelName, prefix.TensorName, OutputTensor, prefix.Width, threads);
        OutputWidth = _suffix.DeclaredOutputWidth;
        if (OutputWidth == 0)
        {
            var probe = Tokenize("a");
            OutputWidth = Forward(new[] { probe }, null)[0].Length / probe.Length;
        }
    }

    /// <summary>Opens "minilm", an encoder .onnx or a decoder .onnx (tokenizer beside it or <paramref name="tokenizer"/>) split at <paramref name="layer"/>.</summary>
    public static OnnxSplicedModel Open(string model, int layer, string? tokenizer, int threads, int? maxLength)
    {
        if (model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && !File.Exists(model)) throw new UserError($"Model not found: '{model}'.");
        bool known = model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || MiniLmOpener.Names(model);
        if (!known) throw new UserError($"Unknown model '{model}' for eval: use a .gguf decoder, a .onnx decoder or encoder, or 'minilm'.");
        if (ModelSources.BuiltIn.Open(new ModelRequest(model, layer) { Tokenizer = tokenizer, Threads = threads, MaxLength = maxLength }) is not OnnxTransformerSource source)
            throw new UserError($"'{model}' is not an ONNX transformer.");
        try { return new OnnxSplicedModel(source, threads); }
        catch { source.Dispose(); throw; }
    }

    public TokenizedText Tokenize(string text) => _prefix.Tokenize(text);

    public IReadOnlyList<float[]> Forward(IReadOnlyList<TokenizedText> docs, RowSplice? splice, float[][]? hooked = null)
    {
        var rows = PrefixRows(docs);
        int d = Width;
        if (hooked != null) for (int i = 0; i < docs.Count; i++) hooked[i] = (float[])rows[i].Clone();
        if (splice != null)
        {
            int total = docs.Sum(x => x.Length);
            var all = new float[total * d];
            var docIdx = new int[total]; var pos = new int[total];
            int k = 0;
            for (int i = 0; i < docs.Count; i++)
            {
                rows[i].CopyTo(all, k * d);
                for (int t = 0; t < docs[i].Length; t++) { docIdx[k + t] = i; pos[k + t] = t; }
                k += docs[i].Length;
            }
            splice(all, docIdx, pos);
            var spliced = new float[docs.Count][];
            k = 0;
            for (int i = 0; i < docs.Count; i++) { spliced[i] = all.AsSpan(k * d, docs[i].Length * d).ToArray(); k += docs[i].Length; }
            rows = spliced;
        }
        else if (_suffix == null) rows = rows.Select(r => (float[])r.Clone()).ToArray(); // the kept rows are never handed out
        return _suffix == null ? rows : _suffix.Run(docs, rows);
    }

    /// <summary>The prefix's hooked rows of <paramref name="docs"/>, reused when the last call had the same documents.</summary>
    float[][] PrefixRows(IReadOnlyList<TokenizedText> docs)
    {
        bool same = ReferenceEquals(docs, _lastList) && docs.Count == _lastDocs.Length;
        for (int i = 0; same && i < docs.Count; i++) same = ReferenceEquals(docs[i], _lastDocs[i]);
        if (same) return _lastRows;
        _lastRows = _prefix.Run(docs).ToArray();
        _lastList = docs;
        _lastDocs = docs.ToArray();
        return _lastRows;
    }

    /// <summary>The suffix graph on per-document hidden states [tokens, width] (for tests: what a splice writing these rows gives).</summary>
    public IReadOnlyList<float[]> RunSuffix(IReadOnlyList<TokenizedText> docs, IReadOnlyList<float[]> rows) =>
        _suffix?.Run(docs, rows) ?? throw new InvalidOperationException("The hooked tensor is the model's output; there is no suffix graph.");

    public void Dispose()
    {
        _suffix?.Dispose();
        _prefix.Dispose();
    }
}
