namespace SaeGuard.Features;

/// <summary>
/// How specific a feature is to a group of tokens: the log-odds ratio of firing inside the group
/// versus outside it, LOR = ln((a·d)/(b·c)) with a = fires in the group, b = silent in it, c =
/// fires outside, d = silent outside, each cell plus its share of a prior of α pseudo-tokens
/// spread as independence predicts (p̂ = (fires + ½)/(N + 1) overall firing rate, s = the
/// group's share of tokens): a += α·p̂·s, b += α·(1−p̂)·s, c += α·p̂·(1−s), d += α·(1−p̂)·(1−s).
/// So a feature seen rarely (or never) is pulled to 0, "no more likely in the group than
/// elsewhere". 95% interval by Woolf: LOR ± 1.96·√(1/a + 1/b + 1/c + 1/d). Tokens of one
/// document are not independent, so the interval is optimistic.
/// </summary>
public static class Specificity
{
    public const double Z95 = 1.959963984540054;

    public static (double Lor, double Low, double High) Of(long firesIn, long tokensIn, long firesOut, long tokensOut, double alpha)
    {
        long n = tokensIn + tokensOut;
        if (tokensIn <= 0 || tokensOut <= 0) return (0, 0, 0);
        double p = (firesIn + firesOut + 0.5) / (n + 1.0), s = tokensIn / (double)n;
        double a = firesIn + alpha * p * s, b = tokensIn - firesIn + alpha * (1 - p) * s;
        double c = firesOut + alpha * p * (1 - s), d = tokensOut - firesOut + alpha * (1 - p) * (1 - s);
        double lor = Math.Log(a) + Math.Log(d) - Math.Log(b) - Math.Log(c);
        double se = Math.Sqrt(1 / a + 1 / b + 1 / c + 1 / d);
        return (lor, lor - Z95 * se, lor + Z95 * se);
    }
}
