namespace SaeGuard.Probes;

/// <summary>A held-out prompt: label 1/0, or null when unlabelled.</summary>
public sealed record HeldOutPrompt(string Text, int? Label, string? Category, string Source);
