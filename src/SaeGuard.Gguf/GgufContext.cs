using LLama.Native;
using SaeGuard.Common;

namespace SaeGuard.Gguf;

/// <summary>
/// A llama.cpp context made by hand (LLamaSharp's executors would reset <c>cb_eval</c>) with the
/// layer-capture callback installed: one KV cache shared by up to <see cref="GgufOptions.MaxSequences"/>
/// documents (unified, so micro-batches keep batch order), an f32 cache and exact attention by default.
/// Also holds the control vector used for steering.
/// </summary>
internal sealed unsafe partial class GgufContext : IDisposable
{
    readonly GgufModel _model;
    readonly SafeLLamaContextHandle _ctx;
    readonly LayerCapture _capture;
    readonly LLamaBatch _batch = new();
    readonly bool _installed;

    public int ContextSize { get; }
    public int BatchSize { get; }
    public int MaxSequences { get; }
    public LayerCapture Capture => _capture;

    public GgufContext(GgufModel model, GgufOptions options, int contextSize, IReadOnlyList<int> captureLayers)
    {
        _model = model;
        _capture = new LayerCapture(captureLayers, model.NEmbd);
        if (captureLayers.Count > 0) GgmlTensor.EnsureLoaded();
        var p = LLamaContextParams.Default();
        p.n_ctx = (uint)contextSize;
        p.n_batch = (uint)Math.Min(options.Batch, contextSize);
        p.n_ubatch = (uint)Math.Min(options.MicroBatch, p.n_batch);
        p.n_seq_max = (uint)Math.Clamp(options.MaxSequences, 1, 256);
        // Output rows (logits) are asked for every token only when the last block is captured, else for
        // the last token of each sequence and of each decode call. llama.cpp reserves n_outputs_max ×
        // n_vocab floats, and aborts the process if a decode (or its one-per-sequence reserve) needs more.
        bool lastBlock = options.AllLogits || captureLayers.Contains(model.NLayer - 1);
        p.n_outputs_max = lastBlock ? Math.Max(p.n_batch, p.n_seq_max) : p.n_seq_max + 1;
        p.kv_unified = true;
        p.n_threads = p.n_threads_batch = options.ResolvedThreads;
        p.llama_flash_attn_type = options.FlashAttention
            ? LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_ENABLED
            : LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        p.type_k = p.type_v = options.F32KvCache ? GGMLType.GGML_TYPE_F32 : GGMLType.GGML_TYPE_F16;
        p.embeddings = false;
        p.no_perf = true;
        _installed = options.Capture;
        if (options.Capture)
        {
            p.cb_eval = LayerCapture.Callback;
            p.cb_eval_user_data = _capture.UserData;
        }
        LlamaNative.TakeRecentProblems();
        try { _ctx = SafeLLamaContextHandle.Create(model.Handle, p); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _capture.Dispose();
            throw new UserError($"llama.cpp could not create a context of {contextSize} tokens for '{model.Path}' (try a smaller --max-length): {LlamaNative.TakeRecentProblems()}", e);
        }
        ContextSize = (int)_ctx.ContextSize;
        BatchSize = (int)Math.Min(_ctx.BatchSize, p.n_batch); // n_outputs_max above assumes at most p.n_batch per call
        MaxSequences = (int)p.n_seq_max;
    }

    /// <summary>
    /// Runs the sequences (together at most <see cref="ContextSize"/> tokens, at most
    /// <see cref="MaxSequences"/> of them) from an empty cache and returns, per sequence and per
    /// captured layer, its rows [tokens, n_embd].
    /// </summary>
    public float[][][] CaptureSequences(IReadOnlyList<int[]> seqs, bool earlyExit)
    {
        if (seqs.Count > MaxSequences) throw new ArgumentException($"{seqs.Count} sequences > {MaxSequences}");
        int total = seqs.Sum(s => s.Length);
        if (total > ContextSize) throw new ArgumentException($"{total} tokens > context {ContextSize}");
        _capture.Reset();
        _capture.Enabled = true;
        _capture.StopAfterLast = earlyExit;
        // The last block only yields rows for tokens whose logits are requested.
        bool allOutputs = _capture.Layers.Contains(_model.NLayer - 1);
        try
        {
            _ctx.MemoryClear(true);
            var entries = new (int Token, int Pos, int Seq, bool Last)[total];
            int k = 0;
            for (int s = 0; s < seqs.Count; s++)
                for (int i = 0; i < seqs[s].Length; i++) entries[k++] = (seqs[s][i], i, s, i == seqs[s].Length - 1);
            for (int start = 0; start < total; start += BatchSize)
            {
                int end = Math.Min(total, start + BatchSize);
                _batch.Clear();
                for (int j = start; j < end; j++)
                {
                    var e = entries[j];
                    _batch.Add(e.Token, e.Pos, (LLamaSeqId)e.Seq, allOutputs || e.Last || j == end - 1);
                }
                Decode();
            }
        }
        finally { _capture.Enabled = false; }
        if (!_installed) return seqs.Select(q => _capture.Layers.Select(_ => new float[q.Length * _model.NEmbd]).ToArray()).ToArray();
        for (int i = 0; i < _capture.Layers.Length; i++)
        {
            int rows = _capture.Buffers[i].Rows;
            string hook = LayerCapture.HookName(_capture.Layers[i]);
            if (rows == 0)
                throw new UserError($"llama.cpp's '{_model.Architecture}' graph has no tensor named '{hook}' (the residual stream after block {_capture.Layers[i]}), so '{_model.Path}' cannot be captured.");
            if (rows != total) throw new InvalidOperationException($"captured {rows} rows of {hook} for {total} tokens");
        }
        var result = new float[seqs.Count][][];
        int offset = 0;
        for (int s = 0; s < seqs.Count; s++)
        {
            result[s] = _capture.Buffers.Select(b => b.CopyRows(offset, seqs[s].Length)).ToArray();
            offset += seqs[s].Length;
        }
        return result;
    }

    /// <summary>Empties the KV cache.</summary>
    public void Clear() => _ctx.MemoryClear(true);

    /// <summary>
    /// Appends <paramref name="tokens"/> (positions from <paramref name="startPos"/>, sequence 0) and returns
    /// the logits after the last one. With <paramref name="capture"/> the captured layers' rows are
    /// appended to <see cref="LayerCapture.Buffers"/> (not reset here).
    /// </summary>
    public float[] DecodeNext(IReadOnlyList<int> tokens, int startPos, bool capture = false)
    {
        _capture.Enabled = capture;
        _capture.StopAfterLast = false;
        bool allOutputs = capture && _capture.Layers.Contains(_model.NLayer - 1);
        try
        {
            int last = 0;
            for (int start = 0; start < tokens.Count; start += BatchSize)
            {
                int end = Math.Min(tokens.Count, start + BatchSize);
                _batch.Clear();
                for (int j = start; j < end; j++) _batch.Add(tokens[j], startPos + j, (LLamaSeqId)0, allOutputs || j == tokens.Count - 1);
                last = end - start - 1;
                Decode();
            }
            return _ctx.GetLogitsIth(last).ToArray();
        }
        finally { _capture.Enabled = false; }
    }

    void Decode()
    {
        var r = _ctx.Decode(_batch);
        _capture.ThrowIfFailed();
        if (r != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode failed ({r}) on '{_model.Path}': {LlamaNative.TakeRecentProblems()}");
    }

    /// <summary>
    /// Adds <paramref name="vector"/> to the residual stream after block <paramref name="layer"/> for every
    /// token from now on (llama.cpp control vector); null removes it. Block 0 cannot be steered.
    /// </summary>
    public void SetSteering(float[]? vector, int layer)
    {
        int n = _model.NEmbd, rc;
        if (vector == null)
        {
            rc = NativeApi.llama_set_adapter_cvec(_ctx, null, 0, n, -1, -1);
        }
        else
        {
            if (vector.Length != n) throw new ArgumentException($"steering vector has {vector.Length} values, n_embd is {n}");
            if (layer < 1 || layer >= _model.NLayer) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} cannot be steered (1..{_model.NLayer - 1})");
            var data = new float[n * _model.NLayer];
            vector.CopyTo(data, (layer - 1) * n); // llama.cpp keeps no slot for block 0
            fixed (float* p = data) rc = NativeApi.llama_set_adapter_cvec(_ctx, p, (nuint)data.Length, n, layer, layer);
        }
        if (rc != 0) throw new InvalidOperationException($"llama_set_adapter_cvec failed ({rc}): {LlamaNative.TakeRecentProblems()}");
    }

    public void Dispose()
    {
        _ctx.Dispose();
        _capture.Dispose();
    }
}
