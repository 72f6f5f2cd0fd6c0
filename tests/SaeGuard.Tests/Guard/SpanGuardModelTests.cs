using SaeGuard.Probes;
using SaeGuard.Sae;

namespace SaeGuard.Tests.Guard;

public class SpanGuardModelTests
{
    const int D = 8, M = 24;

    static SpanGuardModel Model(int seed, int spanLength = 4, double[]? tokenWeights = null)
    {
        var rng = new Random(seed);
        float R() => (float)(rng.NextDouble() * 2 - 1);
        var sae = new SaeModel(new SaeConfig { DIn = D, DSae = M, Architecture = "topk", K = 5 },
            Enumerable.Range(0, D * M).Select(_ => R()).ToArray(), Enumerable.Range(0, M).Select(_ => R() * 0.1f).ToArray(),
            Enumerable.Range(0, D * M).Select(_ => R()).ToArray(), Enumerable.Range(0, D).Select(_ => R() * 0.1f).ToArray());
        double[] V() => Enumerable.Range(0, D).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        return new SpanGuardModel(spanLength, V(), 0.3, V(), -0.7, sae, Enumerable.Range(0, M).Select(j => $"f{j}").ToArray(), tokenWeights);
    }

    static float[] Acts(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n * D).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 4)]
    [InlineData(3, 11)]
    public void Contributions_offset_and_residual_sum_to_the_logit(int seed, int n)
    {
        var model = Model(seed);
        var x = Acts(n, seed + 100);
        var dec = model.Decide(x, n);
        var tokens = Enumerable.Range(0, n).Select(i => $"t{i}").ToArray();
        var e = model.Explain(x, n, dec, tokens, top: 3);
        Assert.Equal(dec.Logit, e.Offset + e.All.Sum(f => f.Contribution) + e.Residual, 9);
        Assert.Equal(dec.Logit, e.Logit);
        // Positive evidence first and separate from negative evidence, each ordered by size.
        Assert.All(e.Positive, f => Assert.True(f.Contribution > 0));
        Assert.All(e.Negative, f => Assert.True(f.Contribution < 0));
        Assert.Equal(e.All.Where(f => f.Contribution > 0).OrderByDescending(f => f.Contribution).Take(3).Select(f => f.Id), e.Positive.Select(f => f.Id));
        Assert.Equal(e.All.Where(f => f.Contribution < 0).OrderBy(f => f.Contribution).Take(3).Select(f => f.Id), e.Negative.Select(f => f.Id));
        // Each listed feature names the token it fired on most inside the deciding span (or the window).
        foreach (var f in e.All)
        {
            Assert.Equal($"t{f.TokenIndex}", f.Token);
            Assert.True(f.Activation > 0);
            Assert.Equal($"f{f.Id}", f.Label);
        }
    }

    [Fact]
    public void The_window_scores_its_best_span_computed_by_hand()
    {
        var model = Model(7, spanLength: 4);
        int n = 10;
        var x = Acts(n, 8);
        // spans start at 0, 2, 4, 6 (the last ends at 10)
        Assert.Equal(new[] { 0, 2, 4, 6 }, model.SpanStarts(n));
        double Dot(double[] v, int start, int len)
        {
            double s = 0;
            for (int i = 0; i < D; i++)
            {
                double mu = 0;
                for (int t = start; t < start + len; t++) mu += x[t * D + i];
                s += v[i] * mu / len;
            }
            return s;
        }
        double win = -0.7 + Dot(model.WindowV, 0, n);
        var expected = new[] { 0, 2, 4, 6 }.Select(s => (s, z: win + 0.3 + Dot(model.SpanV, s, 4))).MaxBy(p => p.z);
        var dec = model.Decide(x, n);
        Assert.Equal(expected.s, dec.SpanStart);
        Assert.Equal(expected.z, dec.Logit, 9);
    }

    [Fact]
    public void Token_weights_give_weighted_means_and_the_split_stays_exact()
    {
        // Vocabulary of 5 ids; id 3 is a "template" word weighted 0.05, the others 1 or 0.5.
        var weights = new[] { 1.0, 0.5, 1.0, 0.05, 1.0 };
        var model = Model(11, spanLength: 4, tokenWeights: weights);
        int n = 9;
        var x = Acts(n, 12);
        var ids = new[] { 0, 3, 3, 1, 2, 4, 3, 0, 1 };
        double Dot(double[] v, int start, int len)
        {
            double s = 0, sw = 0;
            for (int t = start; t < start + len; t++) sw += weights[ids[t]];
            for (int i = 0; i < D; i++)
            {
                double mu = 0;
                for (int t = start; t < start + len; t++) mu += weights[ids[t]] * x[t * D + i];
                s += v[i] * mu / sw;
            }
            return s;
        }
        double win = -0.7 + Dot(model.WindowV, 0, n);
        var expected = model.SpanStarts(n).Select(s => (s, z: win + 0.3 + Dot(model.SpanV, s, 4))).MaxBy(p => p.z);
        var dec = model.Decide(x, n, ids);
        Assert.Equal(expected.s, dec.SpanStart);
        Assert.Equal(expected.z, dec.Logit, 9);
        var e = model.Explain(x, n, dec, Enumerable.Range(0, n).Select(i => $"t{i}").ToArray(), top: 3, ids: ids);
        Assert.Equal(dec.Logit, e.Offset + e.All.Sum(f => f.Contribution) + e.Residual, 9);
        // Without ids a weighted guard cannot score; weights must be positive.
        Assert.Throws<ArgumentException>(() => model.Decide(x, n));
        Assert.Throws<ArgumentException>(() => Model(1, tokenWeights: new[] { 1.0, 0.0 }));
    }

    [Fact]
    public void A_folder_round_trip_keeps_the_token_weights()
    {
        var weights = new[] { 1.0, 0.5, 1.0, 0.05, 1.0 };
        var model = Model(13, tokenWeights: weights);
        using var tmp = new SaeGuard.Tests.Infrastructure.TempDir();
        SpanGuardBundle.Write(tmp["g"], model, new SpanGuardManifest { SpanLength = 4, Labels = model.Labels.ToList() });
        var (back, _) = SpanGuardBundle.Read(tmp["g"]);
        Assert.Equal(weights, back.TokenWeights);
        var x = Acts(7, 14);
        var ids = new[] { 3, 3, 0, 1, 4, 2, 3 };
        Assert.Equal(model.Decide(x, 7, ids).Logit, back.Decide(x, 7, ids).Logit, 12);
    }
}
