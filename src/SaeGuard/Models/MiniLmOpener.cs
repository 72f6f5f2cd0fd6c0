namespace SaeGuard.Models;

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
