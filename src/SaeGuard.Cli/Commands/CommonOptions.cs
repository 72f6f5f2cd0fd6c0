using System.CommandLine;

namespace SaeGuard.Cli.Commands;

static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print a machine-readable summary to stdout (logs go to stderr)." };
    public static Option<int> Seed() => new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
    public static Option<int> Threads() => new("--threads") { Description = "Threads (default: all cores).", DefaultValueFactory = _ => 0 };

    /// <summary><c>--chat-template [auto|none|NAME]</c> (GGUF models); the bare switch means auto, absent means none.</summary>
    public static Option<string?> ChatTemplate(string what) =>
        new("--chat-template")
        {
            Description = $"{what}: auto (the model's tokenizer.chat_template; the bare switch), none, or a llama.cpp template name (chatml, llama3, gemma, mistral-v3, phi3, …).",
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = r => r.Tokens.Count == 0 ? "auto" : r.Tokens[0].Value,
        };

    public static Option<string> Required(string name, string description) =>
        new(name) { Description = description, Required = true };
}
