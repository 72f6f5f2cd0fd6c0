using System.CommandLine;
using SaeGuard.Common;
using SaeGuard.Gguf;
using SaeGuard.Models;

namespace SaeGuard.Cli.Commands;

/// <summary>extract's GGUF-only option: wrap each text in the model's chat template.</summary>
static class GgufCliOptions
{
    public static Option<bool> ChatTemplate() =>
        new("--chat-template") { Description = "GGUF models: wrap every text as a user turn in the model's chat template before tokenizing." };

    /// <summary>Opens <paramref name="model"/> like <see cref="BuiltInModels.Open"/>, or as a chat-templated GGUF source.</summary>
    public static IActivationSource Open(string model, int layer, string? tokenizer, int threads, int? maxLength, string? hookTensor, bool chatTemplate)
    {
        if (!chatTemplate) return BuiltInModels.Open(model, layer, tokenizer, threads, maxLength, hookTensor);
        if (!model.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            throw new UserError($"--chat-template applies to GGUF models only, not '{model}'.");
        return new GgufActivationSource(model, layer, new GgufOptions { Threads = threads, MaxLength = maxLength, ChatTemplate = true });
    }
}
