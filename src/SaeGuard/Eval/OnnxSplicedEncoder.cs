using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SaeGuard.Common;
using SaeGuard.Models;

namespace SaeGuard.Eval;

/// <summary>
/// An ONNX encoder split at the hooked layer: the prefix (<see cref="OnnxTransformerSource"/>, pruned
/// to the layer) yields the hidden state, a <see cref="RowSplice"/> may rewrite it, and the suffix
/// graph (<see cref="OnnxGraph.SuffixFrom"/>, the layer's tensor as an input) runs the remaining
/// blocks to the model's last hidden states.
/// </summary>
public sealed class OnnxSplicedEncoder : ISplicedModel
{
    readonly OnnxTransformerSource _prefix;
    readonly InferenceSession? _suffix;
    readonly string _output;
    readonly bool _int32;
    readonly HashSet<string> _suffixInputs;

    public string ModelName => _prefix.ModelName;
    public string ModelSha256 => _prefix.ModelSha256;
    public int Layer => _prefix.Layer;
    public int Width => _prefix.Width;
    public SpliceOutput Output => SpliceOutput.HiddenStates;
    public int OutputWidth { get; }
    public int MaxPackTokens => 16 * _prefix.MaxLength;
    public int MaxPackDocs => 16;
    public string HookDescription => $"ONNX graph split at tensor '{_prefix.TensorName}' (resid_post of block {Layer}); suffix graph to '{_output}'";

    public OnnxSplicedEncoder(OnnxTransformerSource prefix, int threads = 0)
    {
        _prefix = prefix;
        var graph = prefix.Graph;
        _output = graph.Outputs.Contains("last_hidden_state") ? "last_hidden_state" : graph.Outputs[0];
        OutputWidth = prefix.Width;
        _suffixInputs = new HashSet<string>();
        if (prefix.TensorName == _output) return; // the last block: the hooked tensor is the output
        byte[] suffix;
        try { suffix = graph.SuffixFrom(prefix.TensorName, _output, prefix.Width); }
        catch (InvalidDataException e) { throw new UserError($"Cannot split '{prefix.ModelName}' at '{prefix.TensorName}': {e.Message}"); }
        using var opts = new SessionOptions
        {
            IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount, InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        try { _suffix = new InferenceSession(suffix, opts); }
        catch (OnnxRuntimeException e) { throw new UserError($"ONNX Runtime could not load the suffix graph of '{prefix.ModelName}' after '{prefix.TensorName}': {e.Message}"); }
        _suffixInputs = _suffix.InputMetadata.Keys.ToHashSet();
        _int32 = _suffix.InputMetadata.TryGetValue("attention_mask", out var am) && am.ElementDataType == TensorElementType.Int32;
        var outMeta = _suffix.OutputMetadata[_output];
        if (outMeta.Dimensions.Length > 0 && outMeta.Dimensions[^1] > 0) OutputWidth = outMeta.Dimensions[^1];
    }

    /// <summary>Opens "minilm" or an encoder .onnx file split at <paramref name="layer"/>.</summary>
    public static OnnxSplicedEncoder Open(string model, int layer, string? tokenizer, int threads, int? maxLength)
    {
        if (model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && !File.Exists(model)) throw new UserError($"Model not found: '{model}'.");
        bool known = model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
            || model.Equals("minilm", StringComparison.OrdinalIgnoreCase) || model.Equals(BuiltInModels.MiniLmName, StringComparison.OrdinalIgnoreCase);
        if (!known) throw new UserError($"Unknown model '{model}' for eval: use a .gguf decoder, 'minilm' or an encoder .onnx file (ONNX decoders are not supported yet: GGUF only for LMs).");
        if (ModelSources.BuiltIn.Open(new ModelRequest(model, layer) { Tokenizer = tokenizer, Threads = threads, MaxLength = maxLength }) is not OnnxTransformerSource source)
            throw new UserError($"'{model}' is not an ONNX encoder.");
        if (source.Blocks?.IsDecoder == true)
        {
            source.Dispose();
            throw new UserError($"'{model}' is an ONNX decoder; eval splices decoders through llama.cpp only for now (GGUF only for LMs): convert it to GGUF.");
        }
        try { return new OnnxSplicedEncoder(source, threads); }
        catch { source.Dispose(); throw; }
    }

    public TokenizedText Tokenize(string text) => _prefix.Tokenize(text);

    public IReadOnlyList<float[]> Forward(IReadOnlyList<TokenizedText> docs, RowSplice? splice, float[][]? hooked = null)
    {
        var rows = _prefix.Run(docs).ToArray();
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
            k = 0;
            for (int i = 0; i < docs.Count; i++) { rows[i] = all.AsSpan(k * d, docs[i].Length * d).ToArray(); k += docs[i].Length; }
        }
        return _suffix == null ? rows : RunSuffix(docs, rows);
    }

    /// <summary>The suffix graph on per-document hidden states [tokens, width], padded into one batch.</summary>
    public IReadOnlyList<float[]> RunSuffix(IReadOnlyList<TokenizedText> docs, IReadOnlyList<float[]> rows)
    {
        int b = docs.Count, t = docs.Max(x => x.Length), d = Width;
        var hidden = new float[b * t * d];
        var mask = new long[b * t];
        for (int i = 0; i < b; i++)
        {
            rows[i].CopyTo(hidden, i * t * d);
            for (int j = 0; j < docs[i].Length; j++) mask[i * t + j] = 1;
        }
        var names = new List<string>(); var values = new List<OrtValue>();
        try
        {
            names.Add(_prefix.TensorName); values.Add(OrtValue.CreateTensorValueFromMemory(hidden, new long[] { b, t, d }));
            void Ints(string name, Func<int, int, long> value)
            {
                if (!_suffixInputs.Contains(name)) return;
                var a = new long[b * t];
                for (int i = 0; i < b; i++) for (int j = 0; j < t; j++) a[i * t + j] = value(i, j);
                names.Add(name);
                values.Add(_int32 ? OrtValue.CreateTensorValueFromMemory(a.Select(v => (int)v).ToArray(), new long[] { b, t }) : OrtValue.CreateTensorValueFromMemory(a, new long[] { b, t }));
            }
            Ints("attention_mask", (i, j) => mask[i * t + j]);
            Ints("input_ids", (i, j) => j < docs[i].Length ? docs[i].Ids[j] : 0);
            Ints("token_type_ids", (_, _) => 0);
            using var runOptions = new RunOptions();
            using var results = _suffix!.Run(runOptions, names, values, new[] { _output });
            var data = results[0].GetTensorDataAsSpan<float>();
            int w = (int)results[0].GetTensorTypeAndShape().Shape[^1];
            var outputs = new float[b][];
            for (int i = 0; i < b; i++) outputs[i] = data.Slice(i * t * w, docs[i].Length * w).ToArray();
            return outputs;
        }
        finally { foreach (var v in values) v.Dispose(); }
    }

    public void Dispose()
    {
        _suffix?.Dispose();
        _prefix.Dispose();
    }
}
