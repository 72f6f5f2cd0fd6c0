using SaeGuard.Common;
using SaeGuard.Models;

namespace SaeGuard.Gguf;

/// <summary>
/// Residual-stream activations of a GGUF decoder LLM (any architecture llama.cpp runs), CPU.
/// Layer N is llama.cpp's <c>l_out-N</c>: the residual stream after block N (0-based), hook
/// "resid_post". Texts are tokenized by the model's own tokenizer (BOS when the model wants it,
/// optionally inside its chat template); short documents of one <see cref="Run"/> share a forward,
/// packed as separate sequences of one KV cache (up to <see cref="GgufOptions.Batch"/> tokens).
/// </summary>
public sealed class GgufActivationSource : IActivationSource
{
    readonly GgufModel _model;
    readonly GgufContext _ctx;
    readonly GgufOptions _options;
    readonly Dictionary<string, string> _info;
    readonly GgufChatTemplate? _template;

    public string ModelName { get; }
    public string ModelSha256 => _model.Sha256;
    public int Layer { get; }
    public int LayerCount => _model.NLayer;
    public int Width => _model.NEmbd;
    public string Hook => "resid_post";
    public int MaxLength { get; }
    public IReadOnlyDictionary<string, string> Info => _info;
    public int VocabSize => _model.VocabSize;
    public GgufModel Model => _model;

    public GgufActivationSource(string path, int layer, GgufOptions? options = null)
    {
        _options = options ??= new GgufOptions();
        var header = GgufFile.Read(path);
        long nLayer = header.GetArchInt("block_count") ?? throw new UserError($"'{path}' has no {header.Architecture}.block_count in its GGUF metadata.");
        if (layer < 0 || layer >= nLayer)
            throw new UserError($"--layer {layer} is out of range for '{path}': the model has {nLayer} layers (0..{nLayer - 1}; layer N is llama.cpp's l_out-N).");
        if (options.MaxLength is < 1) throw new UserError($"--max-length must be at least 1, got {options.MaxLength}.");
        _model = GgufModel.Load(path);
        try
        {
            _template = GgufChatTemplate.Resolve(_model, options.Template);
            Layer = layer;
            ModelName = Path.GetFileName(path);
            int trained = _model.ContextLength > 0 ? _model.ContextLength : 2048;
            MaxLength = options.MaxLength ?? Math.Min(2048, trained);
            _ctx = new GgufContext(_model, options, MaxLength, new[] { layer });
        }
        catch
        {
            _model.Dispose();
            throw;
        }
        _info = new Dictionary<string, string>
        {
            ["format"] = "gguf",
            ["architecture"] = _model.Architecture,
            ["gguf_name"] = _model.Name,
            ["n_embd"] = _model.NEmbd.ToString(),
            ["n_layer"] = _model.NLayer.ToString(),
            ["hook_name"] = LayerCapture.HookName(layer),
            ["chat_template"] = _template?.Name ?? "none",
            ["flash_attention"] = options.FlashAttention ? "true" : "false",
            ["kv_cache"] = options.F32KvCache ? "f32" : "f16",
            ["backend"] = "llama.cpp (LLamaSharp 0.30.0, CPU)",
        };
        if (_template != null) _info["chat_template_string"] = _template.Template;
    }

    /// <summary>The chat template texts are wrapped in, or null.</summary>
    public GgufChatTemplate? ChatTemplate => _template;

    public TokenizedText Tokenize(string text)
    {
        if (_template != null) return TokenizeChat(new[] { new ChatMessage("user", text) });
        var ids = _model.Tokenize(text, _model.AddBos, parseSpecial: false);
        bool truncated = ids.Length > MaxLength;
        if (truncated) ids = ids[..MaxLength];
        return new TokenizedText(ids, ids.Select(_model.IsSpecial).ToArray(), truncated);
    }

    /// <summary>
    /// A conversation rendered by the chat template (ready for the assistant's answer) and tokenized as
    /// one text; tokens outside the messages' own text are flagged template (and special). Too long a
    /// conversation loses tokens before the template's closing tokens, so it still ends at the assistant start.
    /// </summary>
    public TokenizedText TokenizeChat(IReadOnlyList<ChatMessage> messages)
    {
        var template = _template ?? throw new InvalidOperationException("this source applies no chat template");
        var chat = template.Render(messages);
        var ids = template.Tokenize(_model, chat);
        var isTemplate = TemplateTokens.Flag(_model, ids, chat.Bytes, chat.ContentSpans);
        bool truncated = ids.Length > MaxLength;
        if (truncated)
        {
            int tail = ids.Length - 1 - Array.LastIndexOf(isTemplate, false); // the template's closing tokens
            int head = Math.Max(0, MaxLength - Math.Min(tail, MaxLength));
            int[] keep = [.. Enumerable.Range(0, head), .. Enumerable.Range(ids.Length - (MaxLength - head), MaxLength - head)];
            ids = keep.Select(i => ids[i]).ToArray();
            isTemplate = keep.Select(i => isTemplate[i]).ToArray();
        }
        var special = ids.Select((id, i) => isTemplate[i] || _model.IsSpecial(id)).ToArray();
        return new TokenizedText(ids, special, truncated) { IsTemplate = isTemplate };
    }

    public string TokenText(int id) => _model.TokenText(id);

    public IReadOnlyList<float[]> Run(IReadOnlyList<TokenizedText> batch)
    {
        var outputs = new float[batch.Count][];
        var pack = new List<int>();
        int packTokens = 0;
        void Flush()
        {
            if (pack.Count == 0) return;
            var rows = _ctx.CaptureSequences(pack.Select(i => batch[i].Ids).ToList(), _options.EarlyExit);
            for (int j = 0; j < pack.Count; j++) outputs[pack[j]] = rows[j][0];
            pack.Clear();
            packTokens = 0;
        }
        for (int i = 0; i < batch.Count; i++)
        {
            int n = batch[i].Length;
            if (n == 0) { outputs[i] = Array.Empty<float>(); continue; }
            if (n > _ctx.ContextSize) throw new ArgumentException($"text {i} has {n} tokens, more than the context ({_ctx.ContextSize}); tokenize it with this source.");
            // Pack about one decode call of short texts: every packed token attends over the whole pack.
            if (packTokens + n > _ctx.BatchSize || pack.Count == _ctx.MaxSequences) Flush();
            pack.Add(i);
            packTokens += n;
        }
        Flush();
        return outputs;
    }

    public void Dispose()
    {
        _ctx.Dispose();
        _model.Dispose();
    }
}
