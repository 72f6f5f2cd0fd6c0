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
    /// <summary>ONNX: which chat template (auto, none or a name); null follows <see cref="ChatTemplate"/> (auto or none).</summary>
    public ChatTemplates.ChatTemplateChoice? TemplateChoice { get; init; }
}
