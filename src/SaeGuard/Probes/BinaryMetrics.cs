namespace SaeGuard.Probes;

/// <summary>
/// Ranking and threshold metrics of a binary scorer (label 1 = harmful, higher score = more
/// harmful). Tied scores form one operating point: no metric depends on the order of ties.
/// </summary>
public static class BinaryMetrics
{
    /// <summary>Area under the ROC curve = P(score of a positive &gt; score of a negative) + ½ P(tie).</summary>
    public static double Auroc(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels)
    {
        var (pos, neg) = Counts(labels);
        if (pos == 0 || neg == 0) return double.NaN;
        var order = SortedAscending(scores);
        // Mann–Whitney: sum of the positives' mid-ranks.
        double rankSumPos = 0;
        int i = 0;
        while (i < order.Length)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            double midRank = (i + j) / 2.0 + 1;
            for (int t = i; t <= j; t++) if (labels[order[t]] == 1) rankSumPos += midRank;
            i = j + 1;
        }
        return (rankSumPos - pos * (pos + 1) / 2.0) / ((double)pos * neg);
    }

    /// <summary>
    /// Average precision (the step-wise area under the precision–recall curve, as
    /// scikit-learn's average_precision_score): Σ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds.
    /// </summary>
    public static double Auprc(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels)
    {
        var (pos, _) = Counts(labels);
        if (pos == 0) return double.NaN;
        double ap = 0, prevRecall = 0;
        foreach (var (tp, fp) in OperatingPoints(scores, labels))
        {
            double recall = (double)tp / pos;
            double precision = tp + fp == 0 ? 1 : (double)tp / (tp + fp);
            ap += (recall - prevRecall) * precision;
            prevRecall = recall;
        }
        return ap;
    }

    /// <summary>
    /// The highest true-positive rate among ROC operating points whose false-positive rate is at
    /// most <paramref name="maxFpr"/> (no interpolation between points: an achievable threshold).
    /// </summary>
    public static double TprAtFpr(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, double maxFpr)
    {
        var (pos, neg) = Counts(labels);
        if (pos == 0 || neg == 0) return double.NaN;
        double best = 0;
        foreach (var (tp, fp) in OperatingPoints(scores, labels))
            if (fp <= maxFpr * neg + 1e-9) best = Math.Max(best, (double)tp / pos);
        return best;
    }

    /// <summary>ROC curve points (FPR, TPR) from (0,0) to (1,1), one per distinct threshold.</summary>
    public static List<(double Fpr, double Tpr)> RocCurve(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels)
    {
        var (pos, neg) = Counts(labels);
        var pts = new List<(double, double)> { (0, 0) };
        if (pos == 0 || neg == 0) return pts;
        foreach (var (tp, fp) in OperatingPoints(scores, labels)) pts.Add(((double)fp / neg, (double)tp / pos));
        return pts;
    }

    /// <summary>Fraction of correct labels when "harmful" means score ≥ threshold.</summary>
    public static double Accuracy(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, double threshold)
    {
        int ok = 0;
        for (int i = 0; i < scores.Length; i++) if ((scores[i] >= threshold ? 1 : 0) == labels[i]) ok++;
        return scores.Length == 0 ? double.NaN : (double)ok / scores.Length;
    }

    /// <summary>F1 of the harmful class when "harmful" means score ≥ threshold (0 when nothing is right).</summary>
    public static double F1(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, double threshold)
    {
        int tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            bool pred = scores[i] >= threshold;
            if (pred && labels[i] == 1) tp++;
            else if (pred) fp++;
            else if (labels[i] == 1) fn++;
        }
        return tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
    }

    /// <summary>Fraction of the given scores at or above the threshold (recall when all are harmful).</summary>
    public static double FlagRate(ReadOnlySpan<double> scores, double threshold)
    {
        if (scores.Length == 0) return double.NaN;
        int n = 0;
        foreach (var s in scores) if (s >= threshold) n++;
        return (double)n / scores.Length;
    }

    /// <summary>
    /// The highest threshold t such that at least <paramref name="tpr"/> of the positives score ≥ t.
    /// </summary>
    public static double ThresholdForTpr(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, double tpr)
    {
        var pos = new List<double>();
        for (int i = 0; i < scores.Length; i++) if (labels[i] == 1) pos.Add(scores[i]);
        if (pos.Count == 0) return double.NaN;
        pos.Sort();
        int need = (int)Math.Ceiling(tpr * pos.Count - 1e-9);
        need = Math.Clamp(need, 1, pos.Count);
        return pos[pos.Count - need];
    }

    /// <summary>Cumulative (TP, FP) after each group of tied scores, highest scores first.</summary>
    static IEnumerable<(int Tp, int Fp)> OperatingPoints(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels)
    {
        var order = SortedAscending(scores);
        var s = scores.ToArray();
        var l = labels.ToArray();
        return Walk(order, s, l);

        static IEnumerable<(int, int)> Walk(int[] order, double[] s, int[] l)
        {
            int tp = 0, fp = 0;
            int i = order.Length - 1;
            while (i >= 0)
            {
                double v = s[order[i]];
                while (i >= 0 && s[order[i]] == v)
                {
                    if (l[order[i]] == 1) tp++; else fp++;
                    i--;
                }
                yield return (tp, fp);
            }
        }
    }

    static int[] SortedAscending(ReadOnlySpan<double> scores)
    {
        foreach (var s in scores)
            if (double.IsNaN(s)) throw new ArgumentException("A score is NaN.");
        var keys = scores.ToArray();
        var order = Enumerable.Range(0, keys.Length).ToArray();
        Array.Sort(keys, order);
        return order;
    }

    static (int Pos, int Neg) Counts(ReadOnlySpan<int> labels)
    {
        int pos = 0;
        foreach (var l in labels)
        {
            if (l is not (0 or 1)) throw new ArgumentException($"Labels must be 0 or 1, got {l}.");
            pos += l;
        }
        return (pos, labels.Length - pos);
    }
}
