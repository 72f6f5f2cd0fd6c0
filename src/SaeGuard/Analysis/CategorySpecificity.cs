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
/// Feature × category specificity: a log-odds ratio with a symmetric prior and its Wald interval.
/// For a feature and a category, with
/// <c>a</c> = units of the category on which the feature fires, <c>n</c> = units of the category,
/// <c>b</c> = units outside the category on which it fires, <c>N</c> = units outside, and
/// <c>α</c> = the prior pseudo-count added to each of the four cells (default 0.5, the
/// Haldane–Anscombe / Jeffreys correction, so a feature that never fires outside gets a finite score):
/// <code>
///   LOR  = ln((a + α) / (n − a + α)) − ln((b + α) / (N − b + α))
///   SE   = sqrt(1/(a + α) + 1/(n − a + α) + 1/(b + α) + 1/(N − b + α))
///   CI95 = LOR ± 1.959964 · SE
/// </code>
/// LOR &gt; 0: the feature fires more often in the category than outside it; 0: no difference;
/// &lt; 0: less often. Tables rank by the lower CI bound (<see cref="RankKey"/>), so a feature
/// seen on two documents does not outrank one seen on two hundred with the same rates.
/// Pure arithmetic, no state: the analysis report and the feature pages share it.
/// </summary>
public static class CategorySpecificity
{
    /// <summary>Default pseudo-count added to each cell of the 2×2 table.</summary>
    public const double DefaultPrior = 0.5;
    /// <summary>z for a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>The score for one feature in one category (see the class comment for the formula).</summary>
    /// <param name="firedIn">a: units of the category on which the feature fires (0 ≤ a ≤ n).</param>
    /// <param name="totalIn">n: units of the category.</param>
    /// <param name="firedOut">b: units outside the category on which it fires (0 ≤ b ≤ N).</param>
    /// <param name="totalOut">N: units outside the category.</param>
    /// <param name="prior">α &gt; 0, added to each cell.</param>
    public static Specificity Score(long firedIn, long totalIn, long firedOut, long totalOut, double prior = DefaultPrior)
    {
        if (prior <= 0 || double.IsNaN(prior)) throw new ArgumentOutOfRangeException(nameof(prior), prior, "the prior pseudo-count must be > 0");
        if (firedIn < 0 || firedIn > totalIn) throw new ArgumentOutOfRangeException(nameof(firedIn), firedIn, $"expected 0 ≤ fired ≤ {totalIn}");
        if (firedOut < 0 || firedOut > totalOut) throw new ArgumentOutOfRangeException(nameof(firedOut), firedOut, $"expected 0 ≤ fired ≤ {totalOut}");
        double a = firedIn + prior, c = totalIn - firedIn + prior;
        double b = firedOut + prior, d = totalOut - firedOut + prior;
        double lor = Math.Log(a / c) - Math.Log(b / d);
        double se = Math.Sqrt(1 / a + 1 / c + 1 / b + 1 / d);
        return new Specificity(lor, lor - Z95 * se, lor + Z95 * se,
            totalIn > 0 ? (double)firedIn / totalIn : 0, totalOut > 0 ? (double)firedOut / totalOut : 0);
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
