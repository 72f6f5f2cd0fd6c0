namespace SaeGuard.Features;

/// <summary>
/// How specific a feature is to a group of tokens: the log-odds ratio of firing inside the group
/// versus outside it, each cell of the 2×2 table plus a pseudo-count prior α, with Woolf's 95%
/// interval: LOR = ln((a+α)(d+α) / ((b+α)(c+α))), SE = √(Σ 1/(cell+α)), where a = fires in the
/// group, b = silent in the group, c = fires outside, d = silent outside. 0 means "no more likely
/// to fire in the group than elsewhere"; the prior keeps rare features from extreme scores.
/// (Tokens of one document are not independent, so the interval is optimistic.)
/// </summary>
public static class Specificity
{
    public const double Z95 = 1.959963984540054;

    public static (double Lor, double Low, double High) Of(long firesIn, long tokensIn, long firesOut, long tokensOut, double prior)
    {
        double a = firesIn + prior, b = tokensIn - firesIn + prior, c = firesOut + prior, d = tokensOut - firesOut + prior;
        double lor = Math.Log(a) + Math.Log(d) - Math.Log(b) - Math.Log(c);
        double se = Math.Sqrt(1 / a + 1 / b + 1 / c + 1 / d);
        return (lor, lor - Z95 * se, lor + Z95 * se);
    }
}
