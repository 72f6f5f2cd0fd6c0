namespace SaeGuard.Probes;

/// <summary>A prompt with a high pooled value of a feature.</summary>
public sealed record PromptExample(string Text, float Value, string Label, string Source);
