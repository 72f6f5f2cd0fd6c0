using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

public sealed record HeldOutSet(string Name, string Path, IReadOnlyList<HeldOutPrompt> Prompts, PromptFeatures Features);
