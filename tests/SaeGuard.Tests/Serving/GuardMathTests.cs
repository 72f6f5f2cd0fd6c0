using SaeGuard.Models;
using SaeGuard.Probes;
using SaeGuard.Serving;

namespace SaeGuard.Tests.Serving;

/// <summary>The guard's building blocks on planted or hand-computed data (no model).</summary>
public class GuardMathTests
{
    [Fact]
    public void Logistic_fit_recovers_planted_weights()
    {
        var rng = new Random(7);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var x = new List<float[]>();
        var y = new List<bool>();
        for (int i = 0; i < 6000; i++)
        {
            // feature 2 is constant: it must get weight 0
            var row = new[] { (float)Normal(), (float)(3 + 2 * Normal()), 1f };
            double p = LogisticRegression.Sigmoid(0.5 + 2 * row[0] - 0.5 * row[1]);
            x.Add(row);
            y.Add(rng.NextDouble() < p);
        }
        var (w, b) = LogisticFit.Fit(x, y, l2: 0, iterations: 3000);
        Assert.InRange(w[0], 1.8, 2.2);
        Assert.InRange(w[1], -0.6, -0.4);
        Assert.Equal(0f, w[2]);
        Assert.InRange(b, 0.2, 0.8);
    }

    [Fact]
    public void Auroc_and_accuracy_match_hand_counts()
    {
        // positives 0.35, 0.8 against negatives 0.1, 0.4: 3 of 4 pairs ordered right
        Assert.Equal(0.75, BinaryMetrics.Auroc(new[] { 0.1, 0.4, 0.35, 0.8 }, new[] { 0, 0, 1, 1 }), 12);
        Assert.Equal(0.5, BinaryMetrics.Auroc(new[] { 0.5, 0.5 }, new[] { 1, 0 }), 12);
        Assert.Equal(0.75, BinaryMetrics.Accuracy(new[] { 0.1, 0.4, 0.35, 0.8 }, new[] { 0, 0, 1, 1 }, 0.3), 12);
    }

    [Fact]
    public void Pooling_skips_special_tokens()
    {
        // 4 tokens × 3 features: [CLS], a, b, [SEP]
        var codes = new float[] { 9, 9, 9, 1, 0, 2, 3, 4, 0, 9, 9, 9 };
        var text = new TextCodes(new TokenizedText(new[] { 101, 1, 2, 102 }, new[] { true, false, false, true }, false), codes, 3);
        Assert.Equal(new float[] { 2, 2, 1 }, TextFeatures.Pool(text, "mean"));
        Assert.Equal(new float[] { 3, 4, 2 }, TextFeatures.Pool(text, "max"));
        Assert.Equal(new float[] { 3, 4, 0 }, TextFeatures.Pool(text, "last"));
        var onlySpecial = new TextCodes(new TokenizedText(new[] { 101, 102 }, new[] { true, true }, false), new float[] { 5, 5, 5, 5, 5, 5 }, 3);
        Assert.Equal(new float[3], TextFeatures.Pool(onlySpecial, "mean"));
    }

    [Fact]
    public void KMeans_dictionary_finds_planted_directions()
    {
        const int d = 16, clusters = 4, perCluster = 200;
        var rng = new Random(3);
        var offset = Enumerable.Range(0, d).Select(i => (float)(0.5 * i)).ToArray();
        var rows = new float[clusters * perCluster * d];
        var truth = new int[clusters * perCluster];
        for (int c = 0; c < clusters; c++)
            for (int p = 0; p < perCluster; p++)
            {
                int r = c * perCluster + p;
                truth[r] = c;
                for (int i = 0; i < d; i++)
                    rows[r * d + i] = offset[i] + (i == c ? 5f : i == c + clusters ? -5f : 0f) + (float)(0.3 * (rng.NextDouble() - 0.5));
            }
        var sae = KMeansDictionarySae.Build(rows, truth.Length, d, clusters, k: 1, seed: 1, iterations: 15);

        // centred, cluster c sits at +3.75 on axis c, −3.75 on axis c+4 and ±1.25 on the other six
        // axes (the mean holds the other clusters' shifts): unit direction ±3.75/√37.5 = ±0.612
        var latentOf = new int[clusters];
        for (int j = 0; j < clusters; j++)
        {
            var row = sae.WDec.AsSpan(j * d, d).ToArray();
            int c = Array.IndexOf(row, row.Max());
            latentOf[c] = j;
            Assert.InRange(row[c], 0.60, 0.625);
            Assert.InRange(row[c + clusters], -0.625, -0.60);
        }
        // every row activates only its own cluster's latent
        var codes = sae.Encode(rows, truth.Length);
        for (int r = 0; r < truth.Length; r++)
            for (int j = 0; j < clusters; j++)
                Assert.Equal(j == latentOf[truth[r]], codes[r * clusters + j] > 0);
        Assert.Equal("topk", sae.Config.Architecture);
        Assert.InRange(sae.BDec[5], offset[5] - 1.25 - 0.05, offset[5] - 1.25 + 0.05); // cluster 1's −5 on axis 5, averaged over 4
    }
}
