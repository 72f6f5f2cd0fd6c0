namespace SaeGuard.Activations;

/// <summary>meta.json "chat_template": the template's name and its text (Jinja, or a built-in name).</summary>
public sealed record ChatTemplateInfo(string Name, string Template)
{
    /// <summary>Source Info keys a source that applies a template sets: "chat_template" (name) and "chat_template_string" (text; the name when absent).</summary>
    public const string NameKey = "chat_template", StringKey = "chat_template_string";

    public static ChatTemplateInfo? From(IReadOnlyDictionary<string, string> info) =>
        info.TryGetValue(NameKey, out var name) && name is not ("none" or "false" or "")
            ? new ChatTemplateInfo(name, info.TryGetValue(StringKey, out var t) ? t : name) : null;
}
