using System.CommandLine;
using SaeGuard.Common;

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

    /// <summary>--force: replace an existing output SaeGuard did not write (never an input); docs/FORMATS.md "Output policy".</summary>
    public static Option<bool> Force() =>
        new("--force") { Description = "Replace an existing output even if SaeGuard did not write it or it is another kind of output (an input is never replaced)." };

    /// <summary>--nonfinite error|skip: what a NaN or ±Inf in the activations does.</summary>
    public static Option<string> NonFinite() =>
        new("--nonfinite") { Description = "NaN/Inf in the activations: error (default; names shard, row and column) or skip (drop those rows and say how many).", DefaultValueFactory = _ => "error" };

    /// <summary>--csv-lenient: read malformed CSV quoting as best it can instead of refusing it.</summary>
    public static Option<bool> CsvLenient() =>
        new("--csv-lenient") { Description = "Accept CSV with broken quoting (a stray quote inside a quoted field, a field that never closes) instead of refusing it." };
}
