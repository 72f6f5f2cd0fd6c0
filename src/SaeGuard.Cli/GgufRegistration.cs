using System.Runtime.CompilerServices;

namespace SaeGuard.Cli;

/// <summary>
/// Makes <c>--model PATH.gguf</c> work in every command: a referenced assembly's own module
/// initializer runs only once something loads it, so the CLI registers the GGUF factory at start-up.
/// </summary>
static class GgufRegistration
{
    [ModuleInitializer]
    internal static void Register() => SaeGuard.Gguf.GgufModels.Register();
}
