using System.CommandLine;

namespace SaeGuard.Cli.Commands;

static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print a machine-readable summary to stdout (logs go to stderr)." };
    public static Option<int> Seed() => new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
    public static Option<int> Threads() => new("--threads") { Description = "Threads (default: all cores).", DefaultValueFactory = _ => 0 };

    public static Option<string> Required(string name, string description) =>
        new(name) { Description = description, Required = true };
}
