using SaeGuard.Common;
using SaeGuard.Eval;
using SaeGuard.Models;

namespace SaeGuard.Gguf;

/// <summary>
/// A GGUF LLM whose residual stream after one block (<c>l_out-L</c>) can be rewritten during the
/// forward: llama.cpp's eval callback asks for that tensor, copies its rows out, lets a
/// <see cref="RowSplice"/> change them and writes them back (<c>ggml_backend_tensor_set</c>) before
/// the scheduler runs the next blocks, which then read the spliced stream. The logits of every
/// token come back. CPU backend: the tensor lives in host memory and the graph is split at the
/// observed node, so no later op has read it yet. A GPU backend would need the same split (the
/// scheduler makes it for any observed node) plus a device↔host copy of the rows per micro-batch,
/// or a splice kernel on the device; see docs/EVAL.md.
/// </summary>
public sealed class GgufSplicer : ISplicedModel
{
    readonly GgufModel _model;
    readonly GgufContext _ctx;
    RowSplice? _splice;
    int[] _rowDoc = Array.Empty<int>(), _rowPos = Array.Empty<int>();
    Exception? _spliceError;

    public string ModelName { get; }
    public string ModelSha256 => _model.Sha256;
    public int Layer { get; }
    public int Width => _model.NEmbd;
    public SpliceOutput Output => SpliceOutput.Logits;
    public int OutputWidth => _model.VocabSize;
    public int MaxPackTokens => _ctx.ContextSize;
    public int MaxPackDocs => _ctx.MaxSequences;
    public string HookDescription => $"llama.cpp cb_eval rewrites {LayerCapture.HookName(Layer)} (resid_post of block {Layer}) on the CPU backend";
    public int MaxLength { get; }
    public GgufModel Model => _model;

    public GgufSplicer(string path, int layer, GgufOptions? options = null)
    {
        var o = (options ?? new GgufOptions()) with { EarlyExit = false, AllLogits = true };
        var header = GgufFile.Read(path);
        long nLayer = header.GetArchInt("block_count") ?? throw new UserError($"'{path}' has no {header.Architecture}.block_count in its GGUF metadata.");
        if (layer < 0 || layer >= nLayer - 1)
            throw new UserError($"Layer {layer} cannot be spliced in '{path}': splicing rewrites the output of blocks 0..{nLayer - 2} (the model has {nLayer} blocks; the last block's output is the logits' input).");
        _model = GgufModel.Load(path);
        try
        {
            Layer = layer;
            ModelName = Path.GetFileName(path);
            int trained = _model.ContextLength > 0 ? _model.ContextLength : 2048;
            MaxLength = o.MaxLength ?? Math.Min(512, trained);
            // logits of every token are kept per decode call: n_batch × n_vocab floats
            o = o with { Batch = Math.Min(o.Batch, MaxLength), MicroBatch = Math.Min(o.MicroBatch, MaxLength), MaxSequences = Math.Min(o.MaxSequences, 16) };
            _ctx = new GgufContext(_model, o, MaxLength, new[] { layer });
        }
        catch
        {
            _model.Dispose();
            throw;
        }
        _ctx.Capture.Splice = OnRows;
    }

    public TokenizedText Tokenize(string text)
    {
        var ids = _model.Tokenize(text, _model.AddBos, parseSpecial: false);
        bool truncated = ids.Length > MaxLength;
        if (truncated) ids = ids[..MaxLength];
        return new TokenizedText(ids, ids.Select(_model.IsSpecial).ToArray(), truncated);
    }

    bool OnRows(int layerIndex, int first, Span<float> rows)
    {
        if (_splice == null || _spliceError != null) return false;
        int n = rows.Length / Width;
        try { _splice(rows, _rowDoc.AsSpan(first, n), _rowPos.AsSpan(first, n)); }
        catch (Exception e) { _spliceError = e; return false; }
        return true;
    }

    public IReadOnlyList<float[]> Forward(IReadOnlyList<TokenizedText> docs, RowSplice? splice, float[][]? hooked = null)
    {
        int total = docs.Sum(d => d.Length);
        if (total > _ctx.ContextSize || docs.Count > _ctx.MaxSequences)
            throw new ArgumentException($"{docs.Count} documents of {total} tokens exceed one forward ({_ctx.MaxSequences} documents, {_ctx.ContextSize} tokens).");
        if (_rowDoc.Length < total) { _rowDoc = new int[total]; _rowPos = new int[total]; }
        int k = 0;
        for (int s = 0; s < docs.Count; s++)
            for (int i = 0; i < docs[s].Length; i++) { _rowDoc[k] = s; _rowPos[k] = i; k++; }
        _splice = splice;
        _spliceError = null;
        float[][] logits;
        try { logits = _ctx.DecodeWithAllLogits(docs.Select(d => d.Ids).ToList()); }
        finally { _splice = null; }
        if (_spliceError != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_spliceError).Throw();
        var buffer = _ctx.Capture.Buffers[0];
        if (buffer.Rows != total)
            throw new UserError($"llama.cpp's '{_model.Architecture}' graph gave {buffer.Rows} rows of {LayerCapture.HookName(Layer)} for {total} tokens; '{_model.Path}' cannot be spliced.");
        if (hooked != null)
        {
            int offset = 0;
            for (int s = 0; s < docs.Count; s++) { hooked[s] = buffer.CopyRows(offset, docs[s].Length); offset += docs[s].Length; }
        }
        return logits;
    }

    public void Dispose()
    {
        _ctx.Dispose();
        _model.Dispose();
    }
}
