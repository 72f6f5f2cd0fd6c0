namespace SaeGuard.Probes;

/// <summary>Non-zero values of a feature in bins: Counts[i] in [Edges[i], Edges[i+1]).</summary>
public sealed record ActivationHistogram(double[] Edges, long[] Counts);
