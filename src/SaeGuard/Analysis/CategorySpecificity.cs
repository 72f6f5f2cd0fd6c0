namespace SaeGuard.Analysis;

/// <summary>
/// How specific one feature is to one category, from firing counts (documents — or any unit —
/// inside and outside the category on which the feature fired at least once).
/// </summary>
/// <param name="LogOdds">Smoothed log-odds ratio (natural log), see <see cref="CategorySpecificity"/>.</param>
/// <param name="Lower">Lower end of the 95% Wald interval.</param>
/// <param name="Upper">Upper end of the 95% Wald interval.</param>
/// <param name="RateIn">Raw firing rate inside the category, a / n (0 when n = 0).</param>
/// <param name="RateOut">Raw firing rate outside the category, b / N (0 when N = 0).</param>
public readonly record struct Specificity(double LogOdds, double Lower, double Upper, double RateIn, double RateOut);

/// <summary>
/// Feature × category specificity, the one definition shared by the analysis report (documents as
/// units) and the feature pages (tokens as units): a log-odds ratio with a prior and its Woolf
/// interval. For a feature and a category, with <c>a</c> = units of the category on which the
/// feature fires, <c>n</c> = units of the category, <c>b</c> = units outside on which it fires,
/// <c>N</c> = units outside, <c>T = n + N</c>, the overall firing rate p̂ = (a + b + ½)/(T + 1)
/// and the category's share s = n/T, a prior of α pseudo-units is spread over the 2×2 table as
/// independence predicts:
/// <code>
///   A = a + α·p̂·s        B = (n − a) + α·(1 − p̂)·s
///   C = b + α·p̂·(1 − s)  D = (N − b) + α·(1 − p̂)·(1 − s)
///   LOR  = ln(A·D / (B·C))
///   SE   = sqrt(1/A + 1/B + 1/C + 1/D)
///   CI95 = LOR ± 1.959964 · SE
/// </code>
/// LOR &gt; 0: the feature fires more often in the category than outside it; 0: no difference;
/// &lt; 0: less often. The prior pulls a rarely seen feature towards 0 ("no more likely here than
/// elsewhere"): a feature that never fires scores 0 in every category, where a flat pseudo-count
/// per cell would make it look specific to every small category. Tables rank by the lower CI
/// bound (<see cref="RankKey"/>), so a feature seen on two documents does not outrank one seen on
/// two hundred with the same rates. With tokens as units the interval is optimistic (the tokens
/// of one document are not independent). When either side is empty the score is 0 with a zero-width interval.
/// </summary>
public static class CategorySpecificity
{
    /// <summary>Default total prior mass (pseudo-units) for document counts.</summary>
    public const double DefaultPrior = 2.0;
    /// <summary>z for a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>The score for one feature in one category (see the class comment for the formula).</summary>
    /// <param name="firedIn">a: units of the category on which the feature fires (0 ≤ a ≤ n).</param>
    /// <param name="totalIn">n: units of the category.</param>
    /// <param name="firedOut">b: units outside the category on which it fires (0 ≤ b ≤ N).</param>
    /// <param name="totalOut">N: units outside the category.</param>
    /// <param name="prior">α &gt; 0, the prior's total pseudo-units.</param>
    public static Specificity Score(long firedIn, long totalIn, long firedOut, long totalOut, double prior = DefaultPrior)
    {
        if (!(prior > 0)) throw new ArgumentOutOfRangeException(nameof(prior), prior, "the prior pseudo-count must be > 0");
        if (firedIn < 0 || firedIn > totalIn) throw new ArgumentOutOfRangeException(nameof(firedIn), firedIn, $"expected 0 ≤ fired ≤ {totalIn}");
        if (firedOut < 0 || firedOut > totalOut) throw new ArgumentOutOfRangeException(nameof(firedOut), firedOut, $"expected 0 ≤ fired ≤ {totalOut}");
        double rateIn = totalIn > 0 ? (double)firedIn / totalIn : 0, rateOut = totalOut > 0 ? (double)firedOut / totalOut : 0;
        if (totalIn == 0 || totalOut == 0) return new Specificity(0, 0, 0, rateIn, rateOut);
        double t = totalIn + totalOut;
        double p = (firedIn + firedOut + 0.5) / (t + 1.0), s = totalIn / t;
        double a = firedIn + prior * p * s, b = totalIn - firedIn + prior * (1 - p) * s;
        double c = firedOut + prior * p * (1 - s), d = totalOut - firedOut + prior * (1 - p) * (1 - s);
        double lor = Math.Log(a) + Math.Log(d) - Math.Log(b) - Math.Log(c);
        double se = Math.Sqrt(1 / a + 1 / b + 1 / c + 1 / d);
        return new Specificity(lor, lor - Z95 * se, lor + Z95 * se, rateIn, rateOut);
    }

    /// <summary>The value tables sort by (descending): the lower 95% bound.</summary>
    public static double RankKey(Specificity s) => s.Lower;

    /// <summary>
    /// Scores of every feature in category <paramref name="category"/> from per-category counts:
    /// <paramref name="fired"/>[c][j] = units of category c on which feature j fires, and
    /// <paramref name="units"/>[c] = units of category c. "Outside" = all other categories together.
    /// </summary>
    public static Specificity[] ForCategory(IReadOnlyList<long[]> fired, IReadOnlyList<long> units, int category, double prior = DefaultPrior)
    {
        if (fired.Count != units.Count) throw new ArgumentException($"{fired.Count} count rows for {units.Count} categories");
        int width = fired[category].Length;
        long totalUnits = units.Sum();
        long nIn = units[category], nOut = totalUnits - nIn;
        var res = new Specificity[width];
        for (int j = 0; j < width; j++)
        {
            long all = 0;
            for (int c = 0; c < fired.Count; c++) all += fired[c][j];
            long a = fired[category][j];
            res[j] = Score(a, nIn, all - a, nOut, prior);
        }
        return res;
    }

    /// <summary>
    /// The <paramref name="top"/> features of one category by <see cref="RankKey"/> (ties by lower
    /// feature id), keeping only features that fired at least once in the category.
    /// </summary>
    public static (int Feature, Specificity Score)[] Top(Specificity[] scores, IReadOnlyList<long> firedInCategory, int top)
    {
        var ids = new List<int>();
        for (int j = 0; j < scores.Length; j++) if (firedInCategory[j] > 0) ids.Add(j);
        ids.Sort((x, y) => { int c = RankKey(scores[y]).CompareTo(RankKey(scores[x])); return c != 0 ? c : x.CompareTo(y); });
        return ids.Take(top).Select(j => (j, scores[j])).ToArray();
    }
}
