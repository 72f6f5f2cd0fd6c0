namespace SaeGuard.Probes;

/// <summary>What <c>classify</c> produced: a verdict per document, the harmful count and, for labelled rows, metrics.</summary>
public sealed record ClassifySummary(IReadOnlyList<GuardResult> Results, int Flagged, ClassifyMetrics? Metrics)
{
    public string Probe => Results.Count > 0 ? Results[0].Probe : "";
    public double Threshold => Results.Count > 0 ? Results[0].Threshold : double.NaN;
}
