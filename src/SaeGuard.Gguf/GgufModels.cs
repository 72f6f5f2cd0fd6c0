using System.Runtime.CompilerServices;
using SaeGuard.Models;

namespace SaeGuard.Gguf;

/// <summary>Plugs GGUF models into <see cref="BuiltInModels.Open"/> (<c>--model PATH.gguf</c>).</summary>
public static class GgufModels
{
    /// <summary>Registers the GGUF factory; runs when this assembly loads, and may be called again.</summary>
#pragma warning disable CA2255 // a module initializer in a library is the point: loading the assembly enables .gguf
    [ModuleInitializer]
    public static void Register() =>
        BuiltInModels.GgufFactory ??= (path, layer, threads, maxLength) =>
            new GgufActivationSource(path, layer, new GgufOptions { Threads = threads, MaxLength = maxLength });
#pragma warning restore CA2255
}
