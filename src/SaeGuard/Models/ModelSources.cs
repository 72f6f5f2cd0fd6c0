using SaeGuard.Common;

namespace SaeGuard.Models;

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
