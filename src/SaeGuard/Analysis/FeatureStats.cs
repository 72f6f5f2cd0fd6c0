namespace SaeGuard.Analysis;

/// <summary>Distribution of all values of the matrix (every token × every feature).</summary>
public sealed record ValueStats
{
    public double Min { get; init; }
    public double Median { get; init; }
    public double Mean { get; init; }
    public double Max { get; init; }
    public double P1 { get; init; }
    public double P5 { get; init; }
    public double P50 { get; init; }
    public double P95 { get; init; }
    public double P99 { get; init; }
    /// <summary>Fraction of values &lt; 0 (a ReLU / TopK / JumpReLU code has none).</summary>
    public double NegativeFraction { get; init; }
    /// <summary>Fraction of values exactly 0.</summary>
    public double ZeroFraction { get; init; }
    /// <summary>NaN or ±Inf values.</summary>
    public long NonFinite { get; init; }
    /// <summary>How the percentiles were computed (exact two-pass radix select, or one-pass histogram).</summary>
    public string QuantileMethod { get; init; } = "";
}

/// <summary>One row of the eps table: fraction of values above eps, and mean count above eps per token.</summary>
public sealed record EpsRow(double Eps, double FracAbove, double ActivePerToken);

/// <summary>Active features (value &gt; 0) per token.</summary>
public sealed record L0Stats(double Mean, double Median, double P95, double P99, int Min, int Max, double Std);

/// <summary>Everything <see cref="FeatureAnalyzer"/> computes over a codes matrix [tokens, width].</summary>
public sealed class FeatureStats
{
    public static readonly double[] EpsLevels = { 0, 1e-4, 1e-3, 1e-2, 0.1 };

    public required int Width { get; init; }
    public required long Tokens { get; init; }
    /// <summary>Tokens with value &gt; 0, per feature.</summary>
    public required long[] ActiveCount { get; init; }
    public required double[] FiringRate { get; init; }
    public required float[] Max { get; init; }
    public required float[] Min { get; init; }
    /// <summary>Mean over all tokens (zeros included).</summary>
    public required double[] Mean { get; init; }
    /// <summary>Mean of the positive values (0 for a dead feature).</summary>
    public required double[] MeanActive { get; init; }
    public required double[] Std { get; init; }
    public required ValueStats Values { get; init; }
    public required IReadOnlyList<EpsRow> EpsTable { get; init; }
    public required L0Stats L0 { get; init; }
    /// <summary>L0Histogram[n] = tokens with exactly n active features.</summary>
    public required long[] L0Histogram { get; init; }
    public int Dead => FiringRate.Count(f => f == 0);
    public int AlwaysOn50 => FiringRate.Count(f => f > 0.5);
    public int AlwaysOn99 => FiringRate.Count(f => f > 0.99);
    /// <summary>
    /// Share of the codes' energy carried by their mean vector: Σⱼ meanⱼ² / Σⱼ E[xⱼ²]. Near 1 when a
    /// constant offset dominates every token (PC1 of the uncentred data = the offset).
    /// </summary>
    public double OffsetEnergyShare
    {
        get
        {
            double m2 = 0, e2 = 0;
            for (int j = 0; j < Width; j++) { m2 += Mean[j] * Mean[j]; e2 += Std[j] * Std[j] + Mean[j] * Mean[j]; }
            return e2 > 0 ? m2 / e2 : 0;
        }
    }
    public required TokenSample Sample { get; init; }
    /// <summary>Passes over the data (1, or 2 for exact percentiles).</summary>
    public required int Passes { get; init; }
}
