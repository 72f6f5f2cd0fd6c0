using System.CommandLine;
using SaeGuard.Common;
using SaeGuard.Gguf;
using SaeGuard.Models;

namespace SaeGuard.Cli.Commands;

/// <summary>extract's GGUF-only option: the chat template each text is wrapped in.</summary>
static class GgufCliOptions
{
    /// <summary><c>--chat-template [auto|none|NAME]</c>; the bare switch means auto.</summary>
    public static Option<string?> ChatTemplate() =>
        new("--chat-template")
        {
            Description = "GGUF models: wrap every text as a user turn in a chat template before tokenizing: auto (the model's tokenizer.chat_template; the bare switch), none, or a llama.cpp template name (chatml, llama3, gemma, mistral-v3, phi3, …). Template tokens are flagged in the dump (is_template).",
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = r => r.Tokens.Count == 0 ? "auto" : r.Tokens[0].Value,
        };

    /// <summary>The same, with the model's own template (true) or none.</summary>
    public static IActivationSource Open(string model, int layer, string? tokenizer, int threads, int? maxLength, string? hookTensor, bool chatTemplate) =>
        Open(model, layer, tokenizer, threads, maxLength, hookTensor, chatTemplate ? "auto" : null);

    /// <summary>Opens <paramref name="model"/> like <see cref="BuiltInModels.Open"/>, or as a chat-templated GGUF source.</summary>
    public static IActivationSource Open(string model, int layer, string? tokenizer, int threads, int? maxLength, string? hookTensor, string? chatTemplate)
    {
        if (chatTemplate is null or "none") return BuiltInModels.Open(model, layer, tokenizer, threads, maxLength, hookTensor);
        if (!model.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            throw new UserError($"--chat-template applies to GGUF models only, not '{model}'.");
        return new GgufActivationSource(model, layer, new GgufOptions { Threads = threads, MaxLength = maxLength, Template = chatTemplate });
    }
}
