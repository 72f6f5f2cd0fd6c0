using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;

namespace SaeGuard.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    /// <summary>
    /// Every static class in SaeGuard.Cli.Commands with a <c>public static Command Create()</c>
    /// becomes a subcommand, in the order of <see cref="Order"/> (then by name).
    /// </summary>
    public static Command BuildRoot()
    {
        // Not a RootCommand: its name would be the executable's (SaeGuard.Cli, or dotnet/testhost) in help and errors.
        var root = new Command(CommandName, "SaeGuard: sparse autoencoders and probes for LLM safety, through mechanistic interpretability.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        var commands = typeof(Program).Assembly.GetTypes()
            .Where(t => t.Namespace == "SaeGuard.Cli.Commands" && t.IsAbstract && t.IsSealed)
            .Select(t => t.GetMethod("Create", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, Type.EmptyTypes))
            .Where(m => m != null && m.ReturnType == typeof(Command))
            .Select(m => (Command)m!.Invoke(null, null)!)
            .OrderBy(c => Array.IndexOf(Order, c.Name) is var i && i < 0 ? int.MaxValue : i).ThenBy(c => c.Name);
        foreach (var c in commands) root.Subcommands.Add(c);
        return root;
    }

    /// <summary>The command's name in help, errors and the .NET tool (ToolCommandName).</summary>
    public const string CommandName = "saeguard";

    static readonly string[] Order = { "demo", "extract", "train", "encode", "analyze", "probe", "classify", "data", "sae", "serve", "steer" };

    /// <summary>Runs the CLI in-process (tests), capturing nothing: returns the exit code.</summary>
    public static int Run(params string[] args) => BuildRoot().Parse(args).Invoke();
}
