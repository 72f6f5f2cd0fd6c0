namespace SaeGuard.Serving;

/// <summary>
/// L2-regularised logistic regression by full-batch gradient descent on standardised features,
/// returned in the raw feature scale: p(y=1|x) = σ(bias + w·x). Deterministic. Meant for a few
/// thousand rows and up to a few thousand features (the guard's pooled SAE codes).
/// </summary>
public static class LogisticFit
{
    public static (float[] Weights, double Bias) Fit(IReadOnlyList<float[]> x, IReadOnlyList<bool> y,
        double l2 = 1e-2, int iterations = 400, double learningRate = 0.5)
    {
        int n = x.Count;
        if (n == 0 || n != y.Count) throw new ArgumentException($"need as many labels as rows (rows {n}, labels {y.Count}).");
        int m = x[0].Length;
        var mu = new double[m];
        var sd = new double[m];
        foreach (var row in x) for (int j = 0; j < m; j++) mu[j] += row[j];
        for (int j = 0; j < m; j++) mu[j] /= n;
        foreach (var row in x) for (int j = 0; j < m; j++) { double d = row[j] - mu[j]; sd[j] += d * d; }
        for (int j = 0; j < m; j++) sd[j] = Math.Sqrt(sd[j] / n);

        var z = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) z[i * m + j] = sd[j] > 1e-12 ? (x[i][j] - mu[j]) / sd[j] : 0;

        var w = new double[m];
        var g = new double[m];
        double b = 0;
        for (int it = 0; it < iterations; it++)
        {
            Array.Clear(g);
            double gb = 0;
            for (int i = 0; i < n; i++)
            {
                double s = b;
                for (int j = 0; j < m; j++) s += w[j] * z[i * m + j];
                double r = LinearHead.Sigmoid(s) - (y[i] ? 1 : 0);
                gb += r;
                for (int j = 0; j < m; j++) g[j] += r * z[i * m + j];
            }
            for (int j = 0; j < m; j++) w[j] -= learningRate * (g[j] / n + l2 * w[j]);
            b -= learningRate * gb / n;
        }

        var raw = new float[m];
        double bias = b;
        for (int j = 0; j < m; j++)
        {
            if (sd[j] <= 1e-12) continue;
            raw[j] = (float)(w[j] / sd[j]);
            bias -= w[j] * mu[j] / sd[j];
        }
        return (raw, bias);
    }
}

/// <summary>Binary classification metrics over scores (higher = more likely positive).</summary>
public static class BinaryMetrics
{
    /// <summary>Area under the ROC curve (ties count one half), by rank sums.</summary>
    public static double Auroc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        var rank = new double[scores.Count];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            double avg = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) rank[order[k]] = avg;
            i = j + 1;
        }
        long pos = positive.Count(p => p), neg = positive.Count - pos;
        if (pos == 0 || neg == 0) return double.NaN;
        double sum = 0;
        for (int i = 0; i < rank.Length; i++) if (positive[i]) sum += rank[i];
        return (sum - pos * (pos + 1) / 2.0) / ((double)pos * neg);
    }

    public static double Accuracy(IReadOnlyList<double> scores, IReadOnlyList<bool> positive, double threshold)
    {
        int ok = 0;
        for (int i = 0; i < scores.Count; i++) if ((scores[i] >= threshold) == positive[i]) ok++;
        return scores.Count == 0 ? double.NaN : (double)ok / scores.Count;
    }
}
