namespace SaeGuard.Probes;

public sealed record HeldOutSet(string Name, string Path, IReadOnlyList<HeldOutPrompt> Prompts, PromptFeatures Features);
