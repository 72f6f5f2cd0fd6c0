namespace SaeGuard.Probes;

/// <summary>How to open a probe folder's model.</summary>
public sealed record GuardLoadOptions
{
    /// <summary>Overrides the model recorded in probe.json (e.g. the ONNX file moved).</summary>
    public string? Model { get; init; }
    /// <summary>Model threads (0 = the runtime's default).</summary>
    public int Threads { get; init; }
    public Models.ModelSources Models { get; init; } = SaeGuard.Models.ModelSources.BuiltIn;
}
