using SaeGuard.Common;

namespace SaeGuard.Models.ChatTemplates;

/// <summary>The value of <c>--chat-template</c>: auto (the model's own template, if it has one), none, or a template name.</summary>
public sealed record ChatTemplateChoice(string Value)
{
    public static readonly ChatTemplateChoice None = new("none");
    public static readonly ChatTemplateChoice Auto = new("auto");

    public bool IsNone => Value == "none";
    public bool IsAuto => Value == "auto";

    /// <summary>Parses auto | none | a known template name (see <see cref="ChatTemplate.Names"/>); a bare switch (null or "") means auto.</summary>
    public static ChatTemplateChoice Parse(string? value)
    {
        var v = (value ?? "auto").Trim().ToLowerInvariant();
        if (v is "" or "auto" or "true") return Auto;
        if (v is "none" or "false") return None;
        var name = ChatTemplate.Canonical(v)
            ?? throw new UserError($"--chat-template '{value}' is not known: use auto, none or one of {string.Join(", ", ChatTemplate.Names)}.");
        return new ChatTemplateChoice(name);
    }

    public override string ToString() => Value;
}
