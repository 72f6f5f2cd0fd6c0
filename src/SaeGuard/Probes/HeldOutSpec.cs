using SaeGuard.Data;

namespace SaeGuard.Probes;

/// <summary>A held-out set for <c>probe --test</c>: an activations folder, or a corpus file run through the model.</summary>
public sealed record HeldOutSpec
{
    public string Path { get; init; } = "";
    /// <summary>How to read a corpus file (columns, fixed label, …); ignored for a dump folder.</summary>
    public CorpusReadOptions Read { get; init; } = new();
}
