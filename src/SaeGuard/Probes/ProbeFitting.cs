namespace SaeGuard.Probes;

/// <summary>
/// The three ways SaeGuard fits a probe. Every one fits its standardisation, feature choice and
/// weights on the given training rows only.
/// </summary>
public static class ProbeFitting
{
    /// <summary>Dense probe: L2 logistic regression on all standardised features.</summary>
    public static LinearProbe FitL2(float[] x, int width, IReadOnlyList<int> train, int[] labels, double c)
    {
        var std = Standardizer.Fit(x, width, train);
        return FitOn(x, std, std.Varying(), train, labels, new LogisticOptions { Penalty = Penalty.L2, C = c });
    }

    /// <summary>
    /// Sparse SAE probe: L1 logistic regression. Walks C upwards on a geometric path from the
    /// value where the first feature enters (warm starts) and keeps the last model that uses at
    /// most <paramref name="maxFeatures"/> features, with C ≤ <paramref name="cMax"/>. Path fits stop
    /// at a looser gradient tolerance (1e-5): the selected support and AUROC match 1e-7 fits.
    /// </summary>
    public static LinearProbe FitL1Capped(float[] x, int width, IReadOnlyList<int> train, int[] labels, int maxFeatures, double cMax,
        double pathRatio = 1.4, double pathTolerance = 1e-5)
    {
        var std = Standardizer.Fit(x, width, train);
        var feats = std.Varying();
        var xs = std.Design(x, train, feats);
        var y = train.Select(r => labels[r]).ToArray();
        double cMin = LogisticRegression.L1CMin(xs, y);
        var options = new LogisticOptions { Penalty = Penalty.L1, Tolerance = pathTolerance };
        if (double.IsInfinity(cMin) || cMin >= cMax)
            return Expand(std, feats, LogisticRegression.Fit(xs, y, options with { C = cMax }), cMax);
        LogisticModel? best = null, warm = null;
        double bestC = cMin;
        for (double cc = cMin * pathRatio; ; cc *= pathRatio)
        {
            double cNow = Math.Min(cc, cMax);
            var m = LogisticRegression.Fit(xs, y, options with { C = cNow }, warm);
            if (m.NonZero > maxFeatures && best != null) break;
            if (m.NonZero <= maxFeatures || best == null) { best = m; bestC = cNow; }
            warm = m;
            if (cNow >= cMax || m.NonZero > maxFeatures) break;
        }
        return Expand(std, feats, best!, bestC);
    }

    /// <summary>
    /// Top-k SAE probe: the k features with the largest class-mean difference in standardised
    /// units on the training rows, then L2 logistic regression on those k.
    /// </summary>
    public static LinearProbe FitTopK(float[] x, int width, IReadOnlyList<int> train, int[] labels, int k, double c)
    {
        var std = Standardizer.Fit(x, width, train);
        var chosen = TopByMeanDifference(x, std, train, labels, k);
        return FitOn(x, std, chosen, train, labels, new LogisticOptions { Penalty = Penalty.L2, C = c });
    }

    /// <summary>The k varying features with the largest |mean(harmful) − mean(benign)| after standardisation, best first.</summary>
    public static int[] TopByMeanDifference(float[] x, Standardizer std, IReadOnlyList<int> rows, int[] labels, int k)
    {
        int width = std.Width;
        var diff = new double[width];
        int nPos = 0, nNeg = 0;
        foreach (var r in rows) { if (labels[r] == 1) nPos++; else nNeg++; }
        foreach (var r in rows)
        {
            var row = x.AsSpan(r * width, width);
            double wgt = labels[r] == 1 ? 1.0 / nPos : -1.0 / nNeg;
            for (int j = 0; j < width; j++) if (row[j] != 0) diff[j] += wgt * row[j];
        }
        return Enumerable.Range(0, width).Where(j => std.Scale[j] != 0)
            .OrderByDescending(j => Math.Abs(diff[j]) * std.Scale[j]).ThenBy(j => j)
            .Take(k).ToArray();
    }

    static LinearProbe FitOn(float[] x, Standardizer std, int[] feats, IReadOnlyList<int> train, int[] labels, LogisticOptions o)
    {
        var y = train.Select(r => labels[r]).ToArray();
        var m = LogisticRegression.Fit(std.Design(x, train, feats), y, o);
        return Expand(std, feats, m, o.C);
    }

    static LinearProbe Expand(Standardizer std, int[] feats, LogisticModel m, double c)
    {
        var w = new double[std.Width];
        for (int k = 0; k < feats.Length; k++) w[feats[k]] = m.W[k];
        return new LinearProbe(std, w, m.B, c);
    }
}
