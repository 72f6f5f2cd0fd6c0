using SaeGuard.Models.ChatTemplates;

namespace SaeGuard.Models;

/// <summary>A .onnx transformer (encoder or decoder LLM) with its vocab.txt or tokenizer.json; see <see cref="OnnxModelOpener"/>.</summary>
sealed class OnnxFileOpener : IModelOpener
{
    public string Describes => "a .onnx file";

    public bool Accepts(string model) => model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    public IActivationSource Open(ModelRequest r) =>
        OnnxModelOpener.Open(r.Model, r.Layer, r.Tokenizer, r.Threads, r.MaxLength, r.HookTensor,
            r.TemplateChoice ?? (r.ChatTemplate ? ChatTemplateChoice.Auto : ChatTemplateChoice.None));
}
