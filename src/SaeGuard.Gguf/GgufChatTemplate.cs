using System.Text;
using System.Text.RegularExpressions;
using LLama;
using LLama.Native;
using SaeGuard.Common;

namespace SaeGuard.Gguf;

/// <summary>One message of a conversation.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>A conversation rendered by a chat template: the text and, per message, the UTF-8 byte range of its content.</summary>
public sealed record RenderedChat(string Text, byte[] Bytes, (int Start, int End)[] ContentSpans);

/// <summary>
/// A chat template applied through llama.cpp (<c>llama_chat_apply_template</c>: the GGUF's
/// tokenizer.chat_template, or one of llama.cpp's built-in names). llama.cpp recognises a template
/// by its markers and formats it natively rather than running its Jinja; where that differs from the
/// official Jinja rendering for a supported family it is corrected here (a default system prompt, see
/// <see cref="DefaultSystem"/>). Which bytes are the messages' own content is found by rendering the
/// conversation a second time with placeholder contents.
/// </summary>
public sealed partial class GgufChatTemplate
{
    /// <summary>"auto" (the GGUF's template), "none", or a llama.cpp built-in name (chatml, llama3, gemma, mistral-v3, phi3, …).</summary>
    public string Option { get; }
    /// <summary>The name llama.cpp formats it as (a built-in name), when one renders the same text.</summary>
    public string Name { get; }
    /// <summary>The template string: the GGUF's Jinja text for auto, else the built-in name.</summary>
    public string Template { get; }
    /// <summary>The system prompt the template adds when a conversation has none (Qwen2's chatml), or null.</summary>
    public string? DefaultSystem { get; }
    /// <summary>The template spells bos_token itself while the tokenizer adds no BOS: the BOS is prepended.</summary>
    public bool PrependsBos { get; }

    GgufChatTemplate(string option, string template, bool modelAddsBos)
    {
        Option = option;
        Template = template;
        DefaultSystem = FindDefaultSystem(template);
        PrependsBos = !modelAddsBos && template.Contains("bos_token", StringComparison.Ordinal);
        Name = option == "auto" ? DetectName() : option;
    }

    /// <summary>The template <paramref name="option"/> asks for on <paramref name="model"/>, or null for none.</summary>
    public static GgufChatTemplate? Resolve(GgufModel model, string? option)
    {
        if (option == null || option == "none") return null;
        if (option == "auto")
        {
            var t = model.Header.GetString("tokenizer.chat_template")
                ?? throw new UserError($"'{model.Path}' has no chat template (tokenizer.chat_template): give --chat-template NAME (one of {string.Join(", ", BuiltInNames())}) or none.");
            var chat = new GgufChatTemplate("auto", t, model.AddBos);
            chat.Check(model.Path);
            return chat;
        }
        if (!BuiltInNames().Contains(option))
            throw new UserError($"--chat-template '{option}' is not auto, none or a llama.cpp template name ({string.Join(", ", BuiltInNames())}).");
        return new GgufChatTemplate(option, option, model.AddBos);
    }

    /// <summary>llama.cpp's built-in template names.</summary>
    public static IReadOnlyList<string> BuiltInNames() => _names.Value;

    static readonly Lazy<string[]> _names = new(() =>
    {
        LlamaNative.EnsureLoaded();
        unsafe
        {
            int n = NativeApi.llama_chat_builtin_templates(null, 0);
            var ptrs = new nint[n];
            fixed (nint* p = ptrs) NativeApi.llama_chat_builtin_templates((char**)p, (nuint)n);
            var names = new string[n];
            for (int i = 0; i < n; i++) names[i] = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(ptrs[i])!;
            return names;
        }
    });

    /// <summary>Renders a conversation, ready for the assistant's answer when <paramref name="addAssistant"/>.</summary>
    public RenderedChat Render(IReadOnlyList<ChatMessage> messages, bool addAssistant = true)
    {
        var all = messages.ToList();
        int offset = 0;
        if (DefaultSystem != null && (all.Count == 0 || all[0].Role != "system"))
        {
            all.Insert(0, new ChatMessage("system", DefaultSystem));
            offset = 1;
        }
        var text = Apply(Template, all, addAssistant);
        // The same conversation with a unique placeholder per message shows where each content lands.
        var marks = all.Select((_, i) => $"\u0001SG{i}\u0002").ToArray();
        var marked = Apply(Template, all.Select((m, i) => m with { Content = marks[i] }).ToList(), addAssistant);
        var pieces = new List<string>();
        int at = 0;
        foreach (var mark in marks)
        {
            int k = marked.IndexOf(mark, at, StringComparison.Ordinal);
            if (k < 0) throw new UserError($"chat template '{Name}' drops or repeats a '{all[pieces.Count].Role}' message; SaeGuard needs each message's text once.");
            pieces.Add(marked[at..k]);
            at = k + mark.Length;
        }
        pieces.Add(marked[at..]);
        var spans = new (int, int)[all.Count];
        var sb = new StringBuilder();
        int pos = 0;
        for (int i = 0; i < all.Count; i++)
        {
            Expect(text, ref pos, pieces[i]);
            string content = all[i].Content;
            // Templates may trim the content (Gemma, Llama 3, Mistral's assistant turns).
            string used = Follows(text, pos, content, pieces[i + 1]) ? content
                : Follows(text, pos, content.Trim(), pieces[i + 1]) ? content.Trim()
                : throw new InvalidOperationException($"chat template '{Name}' changed the text of message {i} beyond trimming it.");
            int start = Encoding.UTF8.GetByteCount(text.AsSpan(0, pos));
            spans[i] = (start, start + Encoding.UTF8.GetByteCount(used));
            pos += used.Length;
        }
        Expect(text, ref pos, pieces[^1]);
        return new RenderedChat(text, Encoding.UTF8.GetBytes(text), spans[offset..]);
    }

    /// <summary>
    /// The model tokens of a rendering: one text, special tokens parsed, the tokenizer's BOS when the
    /// model adds one (not twice when the template spells it too), prepended when only the template wants it.
    /// </summary>
    public int[] Tokenize(GgufModel model, RenderedChat chat)
    {
        var ids = model.Tokenize(chat.Text, model.AddBos, parseSpecial: true);
        if (ids.Length > 1 && model.AddBos && ids[0] == ids[1] && model.IsSpecial(ids[0])) ids = ids[1..];
        if (PrependsBos && model.Bos is int bos && (ids.Length == 0 || ids[0] != bos)) ids = [bos, .. ids];
        return ids;
    }

    static bool Follows(string text, int pos, string content, string next) =>
        string.CompareOrdinal(text, pos, content, 0, content.Length) == 0 && content.Length <= text.Length - pos
        && string.CompareOrdinal(text, pos + content.Length, next, 0, next.Length) == 0 && pos + content.Length + next.Length <= text.Length;

    static void Expect(string text, ref int pos, string piece)
    {
        if (string.CompareOrdinal(text, pos, piece, 0, piece.Length) != 0)
            throw new InvalidOperationException("chat template renders a message's surroundings differently depending on its text.");
        pos += piece.Length;
    }

    static string Apply(string template, IReadOnlyList<ChatMessage> messages, bool addAssistant)
    {
        var t = new LLamaTemplate(template) { AddAssistant = addAssistant };
        foreach (var m in messages) t.Add(m.Role, m.Content);
        return Encoding.UTF8.GetString(t.Apply());
    }

    void Check(string path)
    {
        try { Apply(Template, new[] { new ChatMessage("user", "x") }, true); }
        catch (Exception e) when (e is not UserError)
        {
            throw new UserError($"llama.cpp does not recognise the chat template of '{path}' (tokenizer.chat_template): give --chat-template NAME (one of {string.Join(", ", BuiltInNames())}) or none. ({e.Message})");
        }
    }

    /// <summary>The built-in llama.cpp name that renders a probe conversation exactly as this template does.</summary>
    string DetectName()
    {
        var probe = new[] { new ChatMessage("system", "s"), new ChatMessage("user", "u1"), new ChatMessage("assistant", "a1"), new ChatMessage("user", "u2") };
        string mine;
        try { mine = Apply(Template, probe, true); } catch (Exception) { return "custom"; }
        foreach (var name in BuiltInNames())
        {
            try { if (Apply(name, probe, true) == mine) return name; } catch (Exception) { }
        }
        return "custom";
    }

    /// <summary>Qwen2-style templates print a fixed system turn when the conversation opens without one.</summary>
    static string? FindDefaultSystem(string template)
    {
        if (!FirstNotSystem().IsMatch(template)) return null;
        var m = DefaultSystemLiteral().Match(template);
        return m.Success ? m.Groups[1].Value.Replace("\\n", "\n") : null;
    }

    [GeneratedRegex(@"loop\.first\s+and\s+messages\[0\]\[['""]role['""]\]\s*!=\s*['""]system['""]")]
    private static partial Regex FirstNotSystem();

    [GeneratedRegex(@"'<\|im_start\|>system(?:\n|\\n)([^'<]*)<\|im_end\|>(?:\n|\\n)'")]
    private static partial Regex DefaultSystemLiteral();
}
