using System.Text.Json.Serialization;

namespace SaeGuard.Probes;

public sealed record ProbeSettings
{
    /// <summary>Feature budget of the L1 SAE probe.</summary>
    public int MaxSaeFeatures { get; init; } = 64;
    /// <summary>Largest C the L1 path may reach.</summary>
    public double SaeCMax { get; init; } = 1.0;
    public int TopK { get; init; } = 64;
    public double TopKC { get; init; } = 1.0;
    public double DenseC { get; init; } = 1.0;
}
