namespace SaeGuard.Probes;

/// <summary>A token where a feature fired: up to <see cref="FeatureCatalog.ContextWindow"/> tokens either side, Tokens[Index] fired.</summary>
public sealed record TokenContext(int Prompt, List<string> Tokens, int Index, float Value);
