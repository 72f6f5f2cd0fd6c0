namespace SaeGuard.Features;

/// <summary>
/// Fixed log-spaced bins for non-zero activations: <see cref="PerOctave"/> bins per power of two
/// from 2^<see cref="MinExponent"/> to 2^<see cref="MaxExponent"/>; values beyond go to the end
/// bins. Fixed edges let one streaming pass count every feature without knowing its range.
/// </summary>
public static class LogHistogram
{
    public const int PerOctave = 4, MinExponent = -20, MaxExponent = 20;
    public const int Bins = (MaxExponent - MinExponent) * PerOctave;

    public static int Bin(float v)
    {
        double b = Math.Floor((Math.Log2(v) - MinExponent) * PerOctave);
        return b < 0 ? 0 : b >= Bins ? Bins - 1 : (int)b;
    }

    public static double Edge(int b) => Math.Pow(2, MinExponent + (double)b / PerOctave);

    /// <summary>The bins in use (first to last non-empty), with their edges.</summary>
    public static DensityHistogram Trim(ReadOnlySpan<long> counts)
    {
        int lo = 0, hi = counts.Length - 1;
        while (lo <= hi && counts[lo] == 0) lo++;
        while (hi >= lo && counts[hi] == 0) hi--;
        if (lo > hi) return new DensityHistogram(Array.Empty<double>(), Array.Empty<long>());
        var edges = new double[hi - lo + 2];
        for (int b = lo; b <= hi + 1; b++) edges[b - lo] = Edge(b);
        return new DensityHistogram(edges, counts[lo..(hi + 1)].ToArray());
    }
}
