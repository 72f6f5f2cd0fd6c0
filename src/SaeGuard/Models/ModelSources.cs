using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>What <c>--model</c> and its companion options ask for.</summary>
public sealed record ModelRequest(string Model, int Layer)
{
    /// <summary>vocab.txt or tokenizer.json (ONNX models; default: found beside the model).</summary>
    public string? Tokenizer { get; init; }
    public int Threads { get; init; }
    /// <summary>Longest input in tokens (default: the model's).</summary>
    public int? MaxLength { get; init; }
    /// <summary>ONNX: capture this graph tensor instead of the layer output.</summary>
    public string? HookTensor { get; init; }
    /// <summary>GGUF: wrap every text as a user turn in the model's chat template.</summary>
    public bool ChatTemplate { get; init; }
}

/// <summary>One kind of model <see cref="ModelSources"/> can open (the built-in MiniLM, ONNX files, GGUF files…).</summary>
public interface IModelOpener
{
    /// <summary>How a user names it, for error messages: "'minilm'", "a .onnx file".</summary>
    string Describes { get; }
    /// <summary>True when <paramref name="model"/> (a name or a path) is this opener's kind.</summary>
    bool Accepts(string model);
    IActivationSource Open(ModelRequest request);
}

/// <summary>
/// The model families a program can open, injected where a model is opened (the CLI builds one
/// with the GGUF opener added; the library's default, <see cref="BuiltIn"/>, knows MiniLM and ONNX
/// files). Immutable: <see cref="With"/> returns a new registry.
/// </summary>
public sealed class ModelSources
{
    readonly IModelOpener[] _openers;

    public ModelSources(IEnumerable<IModelOpener> openers) => _openers = openers.ToArray();

    /// <summary>The built-in MiniLM and ONNX files.</summary>
    public static ModelSources BuiltIn { get; } = new(new IModelOpener[] { new MiniLmOpener(), new OnnxFileOpener() });

    public ModelSources With(IModelOpener opener) => new(_openers.Append(opener));

    public IReadOnlyList<IModelOpener> Openers => _openers;

    public IActivationSource Open(string model, int layer) => Open(new ModelRequest(model, layer));

    public IActivationSource Open(ModelRequest request)
    {
        var opener = _openers.FirstOrDefault(o => o.Accepts(request.Model));
        if (opener == null)
        {
            var kinds = Kinds();
            if (!File.Exists(request.Model)) throw new UserError($"Model not found: '{request.Model}' (use {kinds}).");
            throw new UserError($"Unknown model type '{request.Model}': expected {kinds}.");
        }
        if (opener is not MiniLmOpener && !File.Exists(request.Model))
            throw new UserError($"Model not found: '{request.Model}' (use {Kinds()}).");
        return opener.Open(request);
    }

    /// <summary>
    /// A token counter for <paramref name="model"/> (special tokens included, no cap): the built-in
    /// MiniLM uses its WordPiece tokenizer without loading the network; other models open a source.
    /// </summary>
    public ModelTokenCounter OpenTokenCounter(string model, string? tokenizer = null, int? maxLength = null)
    {
        if (tokenizer == null && MiniLmOpener.Names(model))
        {
            var tok = BuiltInModels.MiniLmTokenizer();
            return new ModelTokenCounter(BuiltInModels.MiniLmName, t => tok.Encode(t, int.MaxValue).Length, null);
        }
        var source = Open(new ModelRequest(model, 0) { Tokenizer = tokenizer, Threads = 1, MaxLength = maxLength });
        return new ModelTokenCounter(source.ModelName, t => source.Tokenize(t).Length, source);
    }

    string Kinds()
    {
        var d = _openers.Select(o => o.Describes).ToList();
        return d.Count == 1 ? d[0] : string.Join(", ", d.Take(d.Count - 1)) + " or " + d[^1];
    }

    internal static void RejectChatTemplate(ModelRequest r)
    {
        if (r.ChatTemplate) throw new UserError($"--chat-template applies to GGUF models only, not '{r.Model}'.");
    }
}

/// <summary>A model's tokenizer as a count (what the data mixer needs), owning what it opened.</summary>
public sealed record ModelTokenCounter(string ModelName, Func<string, int> Count, IDisposable? Owner) : IDisposable
{
    public void Dispose() => Owner?.Dispose();
}

/// <summary>"minilm": the built-in all-MiniLM-L6-v2.</summary>
sealed class MiniLmOpener : IModelOpener
{
    public string Describes => "'minilm'";

    internal static bool Names(string model) =>
        model.Equals("minilm", StringComparison.OrdinalIgnoreCase) || model.Equals(BuiltInModels.MiniLmName, StringComparison.OrdinalIgnoreCase);

    public bool Accepts(string model) => Names(model);

    public IActivationSource Open(ModelRequest r)
    {
        ModelSources.RejectChatTemplate(r);
        var tok = r.Tokenizer != null ? WordPieceTextTokenizer.FromFile(r.Tokenizer) : BuiltInModels.MiniLmTokenizer();
        return new OnnxTransformerSource(BuiltInModels.MiniLmOnnx, BuiltInModels.MiniLmName, tok, r.Layer, r.Threads,
            r.MaxLength ?? BuiltInModels.MiniLmMaxLength, r.HookTensor);
    }
}

/// <summary>A .onnx transformer with its vocab.txt or tokenizer.json.</summary>
sealed class OnnxFileOpener : IModelOpener
{
    public string Describes => "a .onnx file";

    public bool Accepts(string model) => model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    public IActivationSource Open(ModelRequest r)
    {
        ModelSources.RejectChatTemplate(r);
        var tokPath = r.Tokenizer ?? FindTokenizerBeside(r.Model)
            ?? throw new UserError($"No tokenizer for '{r.Model}': pass --tokenizer vocab.txt|tokenizer.json (none found beside the model).");
        var tok = WordPieceTextTokenizer.FromFile(tokPath);
        return new OnnxTransformerSource(File.ReadAllBytes(r.Model), Path.GetFileName(r.Model), tok, r.Layer, r.Threads, r.MaxLength ?? 512, r.HookTensor);
    }

    static string? FindTokenizerBeside(string model)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(model)) ?? ".";
        foreach (var n in new[] { "tokenizer.json", "vocab.txt" })
            if (File.Exists(Path.Combine(dir, n))) return Path.Combine(dir, n);
        return null;
    }
}
