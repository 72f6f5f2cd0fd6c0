namespace SaeGuard.Tests.Sae;

/// <summary>
/// Data with planted structure: each sample is a sparse non-negative combination of atoms of a
/// known random unit dictionary, plus Gaussian noise.
/// </summary>
public sealed class SyntheticDictionary
{
    public int D { get; }
    public int Atoms { get; }
    public float[] Dictionary { get; }

    public SyntheticDictionary(int d, int atoms, int seed)
    {
        D = d; Atoms = atoms;
        var rng = new Random(seed);
        Dictionary = new float[atoms * d];
        for (int a = 0; a < atoms; a++)
        {
            double norm = 0;
            for (int i = 0; i < d; i++) { var g = Gauss(rng); Dictionary[a * d + i] = (float)g; norm += g * g; }
            for (int i = 0; i < d; i++) Dictionary[a * d + i] /= (float)Math.Sqrt(norm);
        }
    }

    public static double Gauss(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>n samples with minActive..maxActive atoms each, coefficients in [1, 3), noise σ per coordinate.</summary>
    public float[] Sample(int n, int minActive, int maxActive, double noise, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * D];
        for (int t = 0; t < n; t++)
        {
            int k = rng.Next(minActive, maxActive + 1);
            var row = x.AsSpan(t * D, D);
            var chosen = new HashSet<int>();
            while (chosen.Count < k) chosen.Add(rng.Next(Atoms));
            foreach (var a in chosen)
            {
                float c = (float)(1 + 2 * rng.NextDouble());
                for (int i = 0; i < D; i++) row[i] += c * Dictionary[a * D + i];
            }
            for (int i = 0; i < D; i++) row[i] += (float)(noise * Gauss(rng));
        }
        return x;
    }

    /// <summary>Share of atoms that some decoder row matches with cosine ≥ <paramref name="minCos"/>.</summary>
    public double Recovered(float[] wDec, int latents, double minCos)
    {
        var norms = new double[latents];
        for (int j = 0; j < latents; j++) norms[j] = Math.Sqrt(Enumerable.Range(0, D).Sum(i => (double)wDec[j * D + i] * wDec[j * D + i]));
        int found = 0;
        for (int a = 0; a < Atoms; a++)
        {
            double best = 0;
            for (int j = 0; j < latents; j++)
            {
                if (norms[j] == 0) continue;
                double dot = 0;
                for (int i = 0; i < D; i++) dot += (double)Dictionary[a * D + i] * wDec[j * D + i];
                best = Math.Max(best, dot / norms[j]);
            }
            if (best >= minCos) found++;
        }
        return (double)found / Atoms;
    }
}
