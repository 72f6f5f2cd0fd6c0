namespace SaeGuard.Data;

/// <summary>One document of a corpus: its text and what is known about it.</summary>
public sealed record DocRecord
{
    public int Id { get; init; }
    public string Text { get; init; } = "";
    /// <summary>"harmful", "benign", or null when unlabelled.</summary>
    public string? Label { get; init; }
    public string? Category { get; init; }
    public string Source { get; init; } = "";
}
