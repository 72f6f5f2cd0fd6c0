using SaeGuard.Models;

namespace SaeGuard.Gguf;

/// <summary>
/// Opens .gguf files as activation sources; add it to a <see cref="ModelSources"/> registry
/// (<c>ModelSources.BuiltIn.With(new GgufModelOpener())</c>) to make <c>--model PATH.gguf</c> work.
/// </summary>
public sealed class GgufModelOpener : IModelOpener
{
    public string Describes => "a .gguf file";

    public bool Accepts(string model) => model.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);

    public IActivationSource Open(ModelRequest r) =>
        new GgufActivationSource(r.Model, r.Layer, new GgufOptions { Threads = r.Threads, MaxLength = r.MaxLength, ChatTemplate = r.ChatTemplate });
}
