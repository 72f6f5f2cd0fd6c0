using System.Numerics.Tensors;
using SaeGuard.Sae;

namespace SaeGuard.Serving;

/// <summary>
/// A TopK SAE whose dictionary is not trained by gradient descent but taken from spherical
/// k-means over centred token activations: decoder rows = unit cluster directions, encoder =
/// their transpose (tied), b_dec = the activation mean, b_enc = 0. Each latent fires on the
/// tokens whose centred activation points along its direction. It stands in for a trained SAE
/// where one is not at hand (tests, benchmarks of the serving path); it is a real SAE in
/// SaeGuard's format and encodes like any other.
/// </summary>
public static class KMeansDictionarySae
{
    public static SaeModel Build(float[] rows, int n, int d, int latents, int k, int seed = 0, int iterations = 10,
        string modelName = "", int layer = 0)
    {
        if (n < latents) throw new ArgumentException($"need at least {latents} rows for {latents} latents, got {n}.");
        var mean = new float[d];
        for (int r = 0; r < n; r++) TensorPrimitives.Add(mean, rows.AsSpan(r * d, d), mean);
        TensorPrimitives.Divide(mean, n, mean);

        var unit = new float[n * d];
        for (int r = 0; r < n; r++)
        {
            var u = unit.AsSpan(r * d, d);
            TensorPrimitives.Subtract(rows.AsSpan(r * d, d), mean, u);
            float norm = TensorPrimitives.Norm(u);
            if (norm > 0) TensorPrimitives.Divide(u, norm, u);
        }

        var rng = new Random(seed);
        var centers = SeedCenters(unit, n, d, latents, rng);

        var assign = new int[n];
        for (int it = 0; it < iterations; it++)
        {
            Parallel.For(0, n, r =>
            {
                var u = unit.AsSpan(r * d, d);
                int best = 0; float bestDot = float.NegativeInfinity;
                for (int c = 0; c < latents; c++)
                {
                    float dot = TensorPrimitives.Dot(u, centers.AsSpan(c * d, d));
                    if (dot > bestDot) { bestDot = dot; best = c; }
                }
                assign[r] = best;
            });
            Array.Clear(centers);
            var counts = new int[latents];
            for (int r = 0; r < n; r++)
            {
                counts[assign[r]]++;
                var c = centers.AsSpan(assign[r] * d, d);
                TensorPrimitives.Add(c, unit.AsSpan(r * d, d), c);
            }
            for (int c = 0; c < latents; c++)
            {
                var cs = centers.AsSpan(c * d, d);
                if (counts[c] == 0) unit.AsSpan(rng.Next(n) * d, d).CopyTo(cs); // re-seed an empty cluster
                float norm = TensorPrimitives.Norm(cs);
                if (norm > 0) TensorPrimitives.Divide(cs, norm, cs);
            }
        }

        var wEnc = new float[d * latents];
        for (int c = 0; c < latents; c++)
            for (int i = 0; i < d; i++) wEnc[i * latents + c] = centers[c * d + i];
        var config = new SaeConfig
        {
            DIn = d, DSae = latents, Architecture = "topk", K = k, ApplyBDecToInput = true,
            Metadata = new SaeMetadata { ModelName = modelName, HookName = "resid_post", Layer = layer, TrainingTokens = n },
            Training = new Dictionary<string, string> { ["method"] = "spherical k-means dictionary (tied)", ["iterations"] = iterations.ToString(), ["seed"] = seed.ToString() },
        };
        return new SaeModel(config, wEnc, new float[latents], centers, mean);
    }

    /// <summary>k-means++ seeding on the sphere: each next centre is drawn with probability ∝ its squared
    /// distance (1 − cos) to the nearest centre so far, so no cluster is left without one.</summary>
    static float[] SeedCenters(float[] unit, int n, int d, int latents, Random rng)
    {
        var centers = new float[latents * d];
        var dist = new double[n];
        Array.Fill(dist, double.PositiveInfinity);
        int pick = rng.Next(n);
        for (int c = 0; c < latents; c++)
        {
            unit.AsSpan(pick * d, d).CopyTo(centers.AsSpan(c * d, d));
            var center = centers.AsSpan(c * d, d).ToArray();
            Parallel.For(0, n, r =>
            {
                double gap = 1 - TensorPrimitives.Dot(unit.AsSpan(r * d, d), center);
                double d2 = Math.Max(0, gap) * Math.Max(0, gap);
                if (d2 < dist[r]) dist[r] = d2;
            });
            double total = 0;
            for (int r = 0; r < n; r++) total += dist[r];
            if (total <= 0) { pick = rng.Next(n); continue; }
            double u = rng.NextDouble() * total;
            pick = n - 1;
            for (int r = 0; r < n; r++) { u -= dist[r]; if (u <= 0) { pick = r; break; } }
        }
        return centers;
    }
}
