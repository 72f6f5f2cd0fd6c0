using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>
/// An ONNX transformer (a post-LN encoder such as MiniLM, or a pre-norm decoder LLM) run by ONNX
/// Runtime, with one block's residual stream made the graph's output and the blocks after it pruned
/// (found by graph structure, see <see cref="OnnxBlocks"/>), or any named tensor with <c>hookTensor</c>.
/// </summary>
public sealed class OnnxTransformerSource : IActivationSource
{
    readonly InferenceSession _session;
    readonly ITextTokenizer _tokenizer;
    readonly string _tensor;
    readonly bool _int32Inputs;
    readonly bool _hasTokenTypes;
    readonly DecoderInputs _decoderInputs;
    readonly Dictionary<string, string> _info = new();

    public string ModelName { get; }
    public string ModelSha256 { get; }
    public int Layer { get; }
    public int LayerCount { get; }
    public int Width { get; }
    public string Hook => "resid_post";
    public int MaxLength { get; }
    /// <summary>ONNX Runtime intra-op threads the session runs with.</summary>
    public int Threads { get; private set; }
    public IReadOnlyDictionary<string, string> Info => _info;
    public int VocabSize => _tokenizer.VocabSize;
    /// <summary>The graph tensor that is captured.</summary>
    public string TensorName => _tensor;
    /// <summary>LayerNorm sites found in the graph (for tests and diagnostics).</summary>
    public IReadOnlyList<LayerNormSite> LayerNorms { get; }
    public OnnxGraph Graph { get; }
    /// <summary>The blocks found by graph structure (null when only a hook tensor was given and none were found).</summary>
    public OnnxBlocks? Blocks { get; }

    public OnnxTransformerSource(byte[] modelBytes, string modelName, ITextTokenizer tokenizer, int layer,
        int threads = 0, int maxLength = 256, string? hookTensor = null, string? sha256 = null)
    {
        ModelName = modelName;
        ModelSha256 = sha256 ?? Hashing.Sha256(modelBytes);
        _tokenizer = tokenizer;
        MaxLength = maxLength;
        OnnxGraph graph;
        try { graph = new OnnxGraph(modelBytes); }
        catch (InvalidDataException e) { throw new UserError($"Model '{modelName}' is not a readable ONNX file: {e.Message}"); }
        Graph = graph;
        foreach (var need in new[] { "input_ids", "attention_mask" })
            if (!graph.Inputs.Contains(need))
                throw new UserError($"Model '{modelName}' has no '{need}' input (it has: {string.Join(", ", graph.Inputs)}); SaeGuard runs transformers with input_ids and attention_mask.");
        _hasTokenTypes = graph.Inputs.Contains("token_type_ids");
        LayerNorms = LayerNormLocator.Find(graph);
        var (blocks, _) = OnnxBlocks.TryLocate(graph);
        Blocks = blocks;
        if (hookTensor != null)
        {
            if (!graph.HasTensor(hookTensor))
                throw new UserError($"Model '{modelName}' has no tensor named '{hookTensor}' (--hook-tensor names a node output of the ONNX graph, e.g. one shown by Netron).");
            _tensor = hookTensor;
            LayerCount = blocks?.Count ?? 0;
            Layer = layer;
            _info["hook_tensor"] = hookTensor;
        }
        else
        {
            blocks = OnnxBlocks.Locate(graph, modelName);
            LayerCount = blocks.Count;
            Layer = layer;
            _tensor = blocks.TensorOf(layer, modelName);
        }
        var bytes = graph.PrunedTo(_tensor);
        // Held in a using: ONNX Runtime reads the options again after parsing the model, and a
        // SessionOptions that only the native call still uses could be finalized mid-load.
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        using var opts = new SessionOptions
        {
            IntraOpNumThreads = Threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "1");
        try { _session = new InferenceSession(bytes, opts); }
        catch (OnnxRuntimeException e)
        {
            throw new UserError($"ONNX Runtime could not load '{modelName}'" + (hookTensor != null ? $" with hook tensor '{hookTensor}'" : "") + $": {e.Message}");
        }
        _int32Inputs = _session.InputMetadata["input_ids"].ElementDataType == TensorElementType.Int32;
        _decoderInputs = DecoderInputs.Plan(_session.InputMetadata, modelName);
        var outMeta = _session.OutputMetadata[_tensor];
        Width = outMeta.Dimensions.Length > 0 && outMeta.Dimensions[^1] > 0 ? outMeta.Dimensions[^1] : ProbeWidth();
        _info["onnx_tensor"] = _tensor;
        _info["architecture"] = blocks?.Architecture ?? "unknown (hook tensor)";
        if (blocks != null) _info["norm"] = blocks.NormKind;
        _info["n_layers"] = LayerCount.ToString();
    }

    int ProbeWidth()
    {
        var r = Run(new[] { Tokenize("a") });
        return r[0].Length / Tokenize("a").Length;
    }

    public TokenizedText Tokenize(string text) => _tokenizer.Encode(text, MaxLength);
    public string TokenText(int id) => _tokenizer.TokenText(id);

    public IReadOnlyList<float[]> Run(IReadOnlyList<TokenizedText> batch) => RunTensors(batch, new[] { _tensor })[0];

    /// <summary>Runs a batch and returns, for each requested graph output, per text [tokens, width] rows.</summary>
    public List<float[][]> RunTensors(IReadOnlyList<TokenizedText> batch, IReadOnlyList<string> outputs)
    {
        int b = batch.Count;
        int t = batch.Max(x => x.Length);
        var shape = new long[] { b, t };
        var ids = new long[b * t];
        var mask = new long[b * t];
        for (int i = 0; i < b; i++)
        {
            var x = batch[i];
            for (int j = 0; j < t; j++)
            {
                ids[i * t + j] = j < x.Length ? x.Ids[j] : _tokenizer.PadId;
                mask[i * t + j] = j < x.Length ? 1 : 0;
            }
        }
        var names = new List<string> { "input_ids", "attention_mask" };
        var values = new List<OrtValue>();
        try
        {
            values.Add(Tensor(ids, shape));
            values.Add(Tensor(mask, shape));
            if (_hasTokenTypes) { names.Add("token_type_ids"); values.Add(Tensor(new long[b * t], shape)); }
            _decoderInputs.Add(names, values, mask, b, t, _int32Inputs);
            // Held in a using: a RunOptions that only the native call still uses can be finalized
            // (its native handle released) mid-run when another thread triggers a GC.
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, names, values, outputs);
            var all = new List<float[][]>();
            foreach (var r in results)
            {
                var data = r.GetTensorDataAsSpan<float>();
                var dims = r.GetTensorTypeAndShape().Shape;
                int d = (int)dims[^1];
                int tt = (int)dims[1];
                var perText = new float[b][];
                for (int i = 0; i < b; i++)
                {
                    int n = batch[i].Length;
                    perText[i] = data.Slice(i * tt * d, n * d).ToArray();
                }
                all.Add(perText);
            }
            return all;
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    OrtValue Tensor(long[] data, long[] shape)
    {
        if (!_int32Inputs) return OrtValue.CreateTensorValueFromMemory(data, shape);
        return OrtValue.CreateTensorValueFromMemory(data.Select(v => (int)v).ToArray(), shape);
    }

    /// <summary>Adds a fact for meta.json (the opener records the tokenizer and chat template).</summary>
    public void AddInfo(string key, string value) => _info[key] = value;

    public void Dispose()
    {
        _session.Dispose();
        (_tokenizer as IDisposable)?.Dispose();
    }
}
