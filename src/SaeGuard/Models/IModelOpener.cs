namespace SaeGuard.Models;

/// <summary>One kind of model <see cref="ModelSources"/> can open (the built-in MiniLM, ONNX files, GGUF files…).</summary>
public interface IModelOpener
{
    /// <summary>How a user names it, for error messages: "'minilm'", "a .onnx file".</summary>
    string Describes { get; }
    /// <summary>True when <paramref name="model"/> (a name or a path) is this opener's kind.</summary>
    bool Accepts(string model);
    IActivationSource Open(ModelRequest request);
}
