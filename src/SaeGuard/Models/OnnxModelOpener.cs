using SaeGuard.Common;
using SaeGuard.Models.ChatTemplates;

namespace SaeGuard.Models;

/// <summary>
/// Opens a .onnx file with its tokenizer: <c>--tokenizer</c> (vocab.txt, tokenizer.json or the folder
/// holding it) or the tokenizer.json / vocab.txt beside the model. A WordPiece vocabulary gives the
/// BERT tokenizer (encoders); any other tokenizer.json (BPE, Unigram) runs through
/// <see cref="HfTextTokenizer"/>, with the chat template chosen by <c>--chat-template</c>.
/// </summary>
public static class OnnxModelOpener
{
    public const int DefaultMaxLength = 512;

    public static OnnxTransformerSource Open(string model, int layer, string? tokenizer = null, int threads = 0,
        int? maxLength = null, string? hookTensor = null, ChatTemplateChoice? chatTemplate = null)
    {
        if (!File.Exists(model)) throw new UserError($"Model not found: '{model}'.");
        var tokPath = tokenizer ?? FindTokenizerBeside(model)
            ?? throw new UserError($"No tokenizer for '{model}': pass --tokenizer vocab.txt|tokenizer.json|FOLDER (none found beside the model).");
        var (tok, modelMax) = OpenTokenizer(tokPath, chatTemplate ?? ChatTemplateChoice.None);
        var source = new OnnxTransformerSource(File.ReadAllBytes(model), Path.GetFileName(model), tok, layer, threads,
            maxLength ?? modelMax ?? DefaultMaxLength, hookTensor);
        if (tok is HfTextTokenizer hf)
        {
            source.AddInfo("tokenizer", $"{hf.Source.ModelType} (tokenizer.json)");
            if (hf.Template != null) source.AddInfo("chat_template", hf.Template.Name);
        }
        return source;
    }

    /// <summary>The tokenizer at <paramref name="path"/> and the model_max_length its config gives.</summary>
    public static (ITextTokenizer Tokenizer, int? MaxLength) OpenTokenizer(string path, ChatTemplateChoice chatTemplate)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "tokenizer.json");
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            if (!chatTemplate.IsNone && !chatTemplate.IsAuto) throw new UserError($"--chat-template needs a tokenizer.json with its tokenizer_config.json, not '{path}'.");
            return (WordPieceTextTokenizer.FromFile(path), null);
        }
        var file = TokenizerJsonFile.Load(path);
        if (file.ModelType == "WordPiece")
        {
            if (!chatTemplate.IsNone && !chatTemplate.IsAuto) throw new UserError($"--chat-template: '{path}' is a WordPiece (encoder) tokenizer without a chat template.");
            return (WordPieceTextTokenizer.FromFile(path), file.ModelMaxLength);
        }
        var template = ChatTemplate.Resolve(chatTemplate, file.ChatTemplate, $"'{path}' (tokenizer_config.json)");
        return (new HfTextTokenizer(file, template), file.ModelMaxLength);
    }

    /// <summary>The lines of <c>extract --list-layers</c>: architecture, layer range and the tensor of every layer.</summary>
    public static IEnumerable<string> ListLayers(string model)
    {
        byte[] bytes;
        string name;
        if (model.Equals("minilm", StringComparison.OrdinalIgnoreCase) || model.Equals(BuiltInModels.MiniLmName, StringComparison.OrdinalIgnoreCase))
            (bytes, name) = (BuiltInModels.MiniLmOnnx, BuiltInModels.MiniLmName);
        else if (model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(model)) throw new UserError($"Model not found: '{model}'.");
            (bytes, name) = (File.ReadAllBytes(model), Path.GetFileName(model));
        }
        else throw new UserError($"--list-layers reads ONNX graphs ('minilm' or a .onnx file), not '{model}'.");
        OnnxGraph g;
        try { g = new OnnxGraph(bytes); }
        catch (InvalidDataException e) { throw new UserError($"Model '{name}' is not a readable ONNX file: {e.Message}"); }
        return OnnxBlocks.Locate(g, name).Describe(name).ToList();
    }

    static string? FindTokenizerBeside(string model)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(model)) ?? ".";
        foreach (var n in new[] { "tokenizer.json", "vocab.txt" })
            if (File.Exists(Path.Combine(dir, n))) return Path.Combine(dir, n);
        return null;
    }
}
