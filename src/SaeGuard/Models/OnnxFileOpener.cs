using SaeGuard.Common;

namespace SaeGuard.Models;

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
