using SaeGuard.Data.Mixing;

namespace SaeGuard.Data;

/// <summary>
/// How a command reads its <c>--input</c> files: shared reading options, and per-input values
/// given once (for every input) or once per input, in order.
/// </summary>
public sealed record CorpusInputOptions
{
    /// <summary>Format, turns, label and category columns: the same for every input.</summary>
    public CorpusReadOptions Read { get; init; } = new();
    public IReadOnlyList<string> TextColumns { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Labels { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Categories { get; init; } = Array.Empty<string>();
    /// <summary>At most this many documents per input (0 = all).</summary>
    public int MaxDocs { get; init; }
}
