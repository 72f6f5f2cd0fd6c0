using SaeGuard.Activations;
using SaeGuard.Analysis;

namespace SaeGuard.Tests.Analysis;

/// <summary>Synthetic code matrices with planted structure, row-major [rows, width].</summary>
static class Synthetic
{
    public static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    /// <summary>TopK codes: k distinct features per token, feature popularity ∝ 1/(j+5) (heavy-tailed), values Exp(1)+0.05.</summary>
    public static float[] HealthyTopK(int rows, int width, int k, int seed)
    {
        var rng = new Random(seed);
        var cum = new double[width];
        double acc = 0;
        var perm = Enumerable.Range(0, width).ToArray();
        rng.Shuffle(perm);
        for (int j = 0; j < width; j++) { acc += 1.0 / (j + 5); cum[j] = acc; }
        var x = new float[rows * width];
        var chosen = new HashSet<int>();
        for (int r = 0; r < rows; r++)
        {
            chosen.Clear();
            while (chosen.Count < k)
            {
                int idx = Array.BinarySearch(cum, rng.NextDouble() * acc);
                if (idx < 0) idx = ~idx;
                chosen.Add(perm[Math.Min(idx, width - 1)]);
            }
            foreach (var j in chosen) x[r * width + j] = (float)(-Math.Log(1 - rng.NextDouble()) + 0.05);
        }
        return x;
    }

    /// <summary>ReLU codes relu(z − 2 + b_j): sparse on their own (≈2% per feature), with b_j ≥ 4.5 added to <paramref name="biasedShare"/> of the features.</summary>
    public static float[] OffsetRelu(int rows, int width, double biasedShare, int seed)
    {
        var rng = new Random(seed);
        var bias = Enumerable.Range(0, width).Select(_ => rng.NextDouble() < biasedShare ? 4.5 + 1.5 * rng.NextDouble() : 0).ToArray();
        var x = new float[rows * width];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < width; j++) x[r * width + j] = (float)Math.Max(0, Gaussian(rng) - 2 + bias[j]);
        return x;
    }

    /// <summary>Weak-L1 ReLU codes relu(N(μ_j, σ_j)), μ_j ∈ [−1, 0], σ_j ∈ [0.5, 1.5]: every feature fires on 20–50% of tokens with real values.</summary>
    public static float[] WeakL1(int rows, int width, int seed)
    {
        var rng = new Random(seed);
        var mu = Enumerable.Range(0, width).Select(_ => -rng.NextDouble()).ToArray();
        var sd = Enumerable.Range(0, width).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        var x = new float[rows * width];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < width; j++) x[r * width + j] = (float)Math.Max(0, mu[j] + sd[j] * Gaussian(rng));
        return x;
    }

    public static float[] Transpose(float[] x, int rows, int width)
    {
        var t = new float[x.Length];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < width; j++) t[j * rows + r] = x[r * width + j];
        return t;
    }

    /// <summary>x̂ = z W_dec + b_dec for random unit decoder rows [width, dIn].</summary>
    public static float[] Reconstruction(float[] codes, int rows, int width, int dIn, int seed)
    {
        var rng = new Random(seed);
        var wdec = new double[width * dIn];
        for (int j = 0; j < width; j++)
        {
            double n = 0;
            for (int i = 0; i < dIn; i++) { wdec[j * dIn + i] = Gaussian(rng); n += wdec[j * dIn + i] * wdec[j * dIn + i]; }
            for (int i = 0; i < dIn; i++) wdec[j * dIn + i] /= Math.Sqrt(n);
        }
        var bdec = Enumerable.Range(0, dIn).Select(_ => 0.1 * Gaussian(rng)).ToArray();
        var xhat = new float[rows * dIn];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < dIn; i++)
            {
                double s = bdec[i];
                for (int j = 0; j < width; j++) { float z = codes[r * width + j]; if (z != 0) s += z * wdec[j * dIn + i]; }
                xhat[r * dIn + i] = (float)s;
            }
        return xhat;
    }

    public static IEnumerable<RowBlock> Blocks(float[] x, int rows, int width, int blockRows)
    {
        for (int r0 = 0; r0 < rows; r0 += blockRows)
        {
            int n = Math.Min(blockRows, rows - r0);
            yield return new RowBlock
            {
                Data = x.AsSpan(r0 * width, n * width).ToArray(), Rows = n, D = width,
                RowIds = Enumerable.Range(r0, n).Select(i => (long)i).ToArray(), DocIds = Enumerable.Range(r0, n).Select(i => i / 10).ToArray(),
                Positions = new int[n], TokenIds = new int[n], IsSpecial = new bool[n],
            };
        }
    }

    public static FeatureStats Analyze(float[] x, int rows, int width, AnalysisOptions? options = null, int blockRows = 256) =>
        FeatureAnalyzer.Run(width, () => Blocks(x, rows, width, blockRows), replayable: true, options ?? new AnalysisOptions { SampleTokens = 500 });
}
