using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SaeGuard.Common;
using SaeGuard.Models;

namespace SaeGuard.Eval;

/// <summary>
/// The rest of an ONNX transformer after a tensor (<see cref="OnnxGraph.SuffixFrom"/>) in its own
/// ONNX Runtime session. It takes per-document rows [tokens, width] of that tensor, right-pads them
/// into one batch and feeds the other inputs the remaining nodes still read: attention_mask (1 on
/// real tokens), input_ids, token_type_ids (0) and, for decoders, position_ids, an empty KV cache and
/// use_cache_branch = false (<see cref="DecoderInputs"/>, as the prefix is fed). Returns the output's
/// rows [tokens, output width] per document.
/// </summary>
public sealed class OnnxSuffixSession : IDisposable
{
    static readonly string[] TokenInputs = { "input_ids", "attention_mask", "token_type_ids" };

    readonly InferenceSession _session;
    readonly string _tensor;
    readonly int _width;
    readonly Dictionary<string, bool> _tokenInputs = new(); // name → int32
    readonly DecoderInputs _decoder;
    readonly bool _positionsInt32;

    /// <summary>The output's name.</summary>
    public string Output { get; }
    /// <summary>Values per token of the output, or 0 when the graph leaves it symbolic.</summary>
    public int DeclaredOutputWidth { get; }

    public OnnxSuffixSession(OnnxGraph graph, string modelName, string tensor, string output, int width, int threads)
    {
        _tensor = tensor; _width = width; Output = output;
        byte[] bytes;
        try { bytes = graph.SuffixFrom(tensor, output, width); }
        catch (InvalidDataException e) { throw new UserError($"Cannot split '{modelName}' at '{tensor}': {e.Message}"); }
        using var opts = new SessionOptions
        {
            IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount, InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        try { _session = new InferenceSession(bytes, opts); }
        catch (OnnxRuntimeException e) { throw new UserError($"ONNX Runtime could not load the suffix graph of '{modelName}' after '{tensor}': {e.Message}"); }
        try
        {
            var inputs = _session.InputMetadata;
            foreach (var name in TokenInputs)
                if (inputs.TryGetValue(name, out var m)) _tokenInputs[name] = m.ElementDataType == TensorElementType.Int32;
            _decoder = DecoderInputs.Plan(inputs.Where(kv => kv.Key != tensor).ToDictionary(kv => kv.Key, kv => kv.Value), modelName);
            _positionsInt32 = inputs.TryGetValue("position_ids", out var pm) && pm.ElementDataType == TensorElementType.Int32;
            var dims = _session.OutputMetadata[output].Dimensions;
            DeclaredOutputWidth = dims.Length > 0 && dims[^1] > 0 ? dims[^1] : 0;
        }
        catch { _session.Dispose(); throw; }
    }

    /// <summary>The suffix on per-document rows of the split tensor [tokens, width], padded into one batch.</summary>
    public IReadOnlyList<float[]> Run(IReadOnlyList<TokenizedText> docs, IReadOnlyList<float[]> rows)
    {
        int b = docs.Count, t = docs.Max(x => x.Length), d = _width;
        var hidden = new float[b * t * d];
        var mask = new long[b * t];
        for (int i = 0; i < b; i++)
        {
            rows[i].AsSpan(0, docs[i].Length * d).CopyTo(hidden.AsSpan(i * t * d));
            for (int j = 0; j < docs[i].Length; j++) mask[i * t + j] = 1;
        }
        var names = new List<string>(); var values = new List<OrtValue>();
        try
        {
            var shape = new long[] { b, t };
            names.Add(_tensor); values.Add(OrtValue.CreateTensorValueFromMemory(hidden, new long[] { b, t, d }));
            foreach (var (name, int32) in _tokenInputs)
            {
                var a = new long[b * t];
                for (int i = 0; i < b; i++)
                    for (int j = 0; j < docs[i].Length; j++)
                        a[i * t + j] = name switch { "attention_mask" => 1, "input_ids" => docs[i].Ids[j], _ => 0 };
                names.Add(name);
                values.Add(int32 ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(a, v => (int)v), shape) : OrtValue.CreateTensorValueFromMemory(a, shape));
            }
            _decoder.Add(names, values, mask, b, t, _positionsInt32);
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, names, values, new[] { Output });
            var data = results[0].GetTensorDataAsSpan<float>();
            int w = (int)results[0].GetTensorTypeAndShape().Shape[^1];
            var outputs = new float[b][];
            for (int i = 0; i < b; i++) outputs[i] = data.Slice(i * t * w, docs[i].Length * w).ToArray();
            return outputs;
        }
        finally { foreach (var v in values) v.Dispose(); }
    }

    public void Dispose() => _session.Dispose();
}
