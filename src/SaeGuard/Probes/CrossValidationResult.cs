using System.Text.Json.Serialization;

namespace SaeGuard.Probes;

public sealed class CrossValidationResult
{
    /// <summary>Fold of each prompt.</summary>
    public required int[] Fold { get; init; }
    /// <summary>Per probe kind, each prompt's score from the fold model that did not see it.</summary>
    public required Dictionary<string, double[]> OutOfFold { get; init; }
    public required Dictionary<string, List<FoldMetrics>> PerFold { get; init; }
    /// <summary>Per fold, the fitted probes (for inspection; each fitted on that fold's training rows).</summary>
    public required List<Dictionary<string, LinearProbe>> Probes { get; init; }
}
