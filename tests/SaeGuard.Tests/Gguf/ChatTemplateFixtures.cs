using System.Text.Json;
using SaeGuard.Gguf;
using SaeGuard.Gguf.Testing;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Gguf;

/// <summary>
/// Each family's official chat template and its Jinja rendering (transformers' settings) of the test
/// conversations, written by tests/fixtures-src/make_chat_template_fixtures.py.
/// </summary>
public sealed record ChatTemplateFixture(string Bos, string Eos, string Template, IReadOnlyDictionary<string, ChatMessage[]> Conversations, IReadOnlyDictionary<string, string> Rendered);

public static class ChatTemplateFixtures
{
    public static string File { get; } = Path.Combine(TestPaths.RepoRoot, "tests", "SaeGuard.Tests", "Fixtures", "chat-templates", "templates.json");

    static readonly Lazy<Dictionary<string, ChatTemplateFixture>> _all = new(() =>
    {
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(File));
        var all = new Dictionary<string, ChatTemplateFixture>();
        foreach (var f in doc.RootElement.EnumerateObject())
        {
            var v = f.Value;
            var convs = v.GetProperty("conversations").EnumerateObject().ToDictionary(c => c.Name,
                c => c.Value.EnumerateArray().Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToArray());
            var rendered = v.GetProperty("rendered").EnumerateObject().ToDictionary(c => c.Name, c => c.Value.GetString()!);
            all[f.Name] = new ChatTemplateFixture(v.GetProperty("bos").GetString()!, v.GetProperty("eos").GetString()!, v.GetProperty("template").GetString()!, convs, rendered);
        }
        return all;
    });

    /// <summary>The family's fixture, or null (plain Llama 2 has no official template).</summary>
    public static ChatTemplateFixture? For(TinyFamily family) => _all.Value.GetValueOrDefault(family.ToString());
}
