namespace SaeGuard.Sae.Training;

/// <summary>The geometric median of rows (Weiszfeld's algorithm, started at the mean).</summary>
public static class GeometricMedian
{
    public static float[] Compute(ReadOnlySpan<float> rows, int n, int d, int maxIter = 100, double tol = 1e-6)
    {
        var y = new double[d];
        for (int t = 0; t < n; t++) for (int i = 0; i < d; i++) y[i] += rows[t * d + i];
        for (int i = 0; i < d; i++) y[i] /= Math.Max(1, n);
        var next = new double[d];
        for (int it = 0; it < maxIter; it++)
        {
            Array.Clear(next);
            double wsum = 0;
            for (int t = 0; t < n; t++)
            {
                double dist = 0;
                for (int i = 0; i < d; i++) { double e = rows[t * d + i] - y[i]; dist += e * e; }
                double w = 1 / Math.Max(Math.Sqrt(dist), 1e-8);
                wsum += w;
                for (int i = 0; i < d; i++) next[i] += w * rows[t * d + i];
            }
            double move = 0, norm = 0;
            for (int i = 0; i < d; i++)
            {
                double v = next[i] / wsum;
                move += (v - y[i]) * (v - y[i]); norm += v * v;
                y[i] = v;
            }
            if (Math.Sqrt(move) <= tol * Math.Max(1, Math.Sqrt(norm))) break;
        }
        return y.Select(v => (float)v).ToArray();
    }
}
