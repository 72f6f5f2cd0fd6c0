using System.Text.RegularExpressions;
using SaeGuard.Common;

namespace SaeGuard.Models.ChatTemplates;

/// <summary>One piece of a rendered chat: a special token of the template, template text, or the user's text.</summary>
public readonly record struct ChatPiece(string Text, ChatPieceKind Kind)
{
    public static ChatPiece Special(string token) => new(token, ChatPieceKind.SpecialToken);
    public static ChatPiece Template(string text) => new(text, ChatPieceKind.TemplateText);
    public static ChatPiece User(string text) => new(text, ChatPieceKind.UserText);
}

public enum ChatPieceKind { SpecialToken, TemplateText, UserText }

/// <summary>
/// The common chat templates, rendered natively for one user turn followed by the assistant-start
/// header (what <c>apply_chat_template(..., add_generation_prompt=True)</c> gives), and recognised in a
/// tokenizer_config.json template by their marker tokens.
/// </summary>
public sealed class ChatTemplate
{
    public static readonly string[] Names = { "chatml", "llama-3", "llama-2", "gemma", "phi-3" };

    public string Name { get; }
    /// <summary>chatml only: the default system prompt the model's template inserts when there is none.</summary>
    public string? DefaultSystem { get; }
    /// <summary>phi-3 only: whether the template starts with bos_token.</summary>
    public bool StartsWithBos { get; }

    ChatTemplate(string name, string? defaultSystem = null, bool startsWithBos = true)
    {
        Name = name; DefaultSystem = defaultSystem; StartsWithBos = startsWithBos;
    }

    public static string? Canonical(string name) => name switch
    {
        "chatml" or "qwen2" or "qwen" => "chatml",
        "llama-3" or "llama3" => "llama-3",
        "llama-2" or "llama2" or "mistral" or "inst" => "llama-2",
        "gemma" => "gemma",
        "phi-3" or "phi3" => "phi-3",
        _ => null,
    };

    public static ChatTemplate Named(string name, string? source = null) => Canonical(name) switch
    {
        "chatml" => new("chatml", source != null ? ChatMlSystem(source) : null),
        "phi-3" => new("phi-3", startsWithBos: source == null || source.Contains("bos_token")),
        string n => new(n),
        null => throw new UserError($"Unknown chat template '{name}': known are {string.Join(", ", Names)}."),
    };

    /// <summary>Recognises a Jinja template from tokenizer_config.json; null when it is none of the known ones.</summary>
    public static ChatTemplate? Detect(string template)
    {
        if (template.Contains("<|im_start|>")) return Named("chatml", template);
        if (template.Contains("<|start_header_id|>"))
            return template.Contains("Cutting Knowledge Date") ? null : Named("llama-3", template);
        if (template.Contains("<start_of_turn>")) return Named("gemma", template);
        if (template.Contains("<|user|>") && template.Contains("<|assistant|>")) return Named("phi-3", template);
        if (template.Contains("[INST]")) return Named("llama-2", template);
        return null;
    }

    static string? ChatMlSystem(string template)
    {
        var m = Regex.Match(template, @"'<\|im_start\|>system\\n([^'{}+]*?)<\|im_end\|>\\n'");
        return m.Success && template.Contains("!= 'system'") ? m.Groups[1].Value : null;
    }

    /// <summary>One user turn and the assistant-start header; <paramref name="bos"/> is the model's BOS token text.</summary>
    public List<ChatPiece> Render(string user, string? bos)
    {
        var p = new List<ChatPiece>();
        void Bos() { if (bos != null) p.Add(ChatPiece.Special(bos)); }
        switch (Name)
        {
            case "chatml":
                if (DefaultSystem != null)
                    p.AddRange(new[] { ChatPiece.Special("<|im_start|>"), ChatPiece.Template("system\n" + DefaultSystem), ChatPiece.Special("<|im_end|>"), ChatPiece.Template("\n") });
                p.AddRange(new[] { ChatPiece.Special("<|im_start|>"), ChatPiece.Template("user\n"), ChatPiece.User(user), ChatPiece.Special("<|im_end|>"),
                    ChatPiece.Template("\n"), ChatPiece.Special("<|im_start|>"), ChatPiece.Template("assistant\n") });
                break;
            case "llama-3":
                Bos();
                p.AddRange(new[] { ChatPiece.Special("<|start_header_id|>"), ChatPiece.Template("user"), ChatPiece.Special("<|end_header_id|>"),
                    ChatPiece.Template("\n\n"), ChatPiece.User(user.Trim()), ChatPiece.Special("<|eot_id|>"),
                    ChatPiece.Special("<|start_header_id|>"), ChatPiece.Template("assistant"), ChatPiece.Special("<|end_header_id|>"), ChatPiece.Template("\n\n") });
                break;
            case "llama-2":
                Bos();
                p.AddRange(new[] { ChatPiece.Template("[INST] "), ChatPiece.User(user.Trim()), ChatPiece.Template(" [/INST]") });
                break;
            case "gemma":
                Bos();
                p.AddRange(new[] { ChatPiece.Special("<start_of_turn>"), ChatPiece.Template("user\n"), ChatPiece.User(user.Trim()), ChatPiece.Special("<end_of_turn>"),
                    ChatPiece.Template("\n"), ChatPiece.Special("<start_of_turn>"), ChatPiece.Template("model\n") });
                break;
            case "phi-3":
                if (StartsWithBos) Bos();
                p.AddRange(new[] { ChatPiece.Special("<|user|>"), ChatPiece.Template("\n"), ChatPiece.User(user), ChatPiece.Special("<|end|>"),
                    ChatPiece.Template("\n"), ChatPiece.Special("<|assistant|>"), ChatPiece.Template("\n") });
                break;
        }
        return p;
    }

    /// <summary>
    /// The template for a model: <paramref name="choice"/> auto takes the model's own (none when it has
    /// none; an unrecognised one is refused), a name forces that template.
    /// </summary>
    public static ChatTemplate? Resolve(ChatTemplateChoice choice, string? modelTemplate, string where)
    {
        if (choice.IsNone) return null;
        if (!choice.IsAuto) return Named(choice.Value, modelTemplate);
        if (modelTemplate == null) return null;
        return Detect(modelTemplate) ?? throw new UserError(
            $"The chat template of {where} is not one SaeGuard renders (known: {string.Join(", ", Names)}, recognised by their marker tokens; " +
            "a Llama-3.1 template with a dated system header is not implemented). Pass --chat-template NAME to force one, or --chat-template none.");
    }
}
