using SaeGuard.Probes;

namespace SaeGuard.Tests.Serving;

/// <summary>The guard's building blocks on hand-computed data (no model).</summary>
public class GuardMathTests
{
    [Fact]
    public void Auroc_and_accuracy_match_hand_counts()
    {
        // positives 0.35, 0.8 against negatives 0.1, 0.4: 3 of 4 pairs ordered right
        Assert.Equal(0.75, BinaryMetrics.Auroc(new[] { 0.1, 0.4, 0.35, 0.8 }, new[] { 0, 0, 1, 1 }), 12);
        Assert.Equal(0.5, BinaryMetrics.Auroc(new[] { 0.5, 0.5 }, new[] { 1, 0 }), 12);
        Assert.Equal(0.75, BinaryMetrics.Accuracy(new[] { 0.1, 0.4, 0.35, 0.8 }, new[] { 0, 0, 1, 1 }, 0.3), 12);
    }

    [Theory]
    [InlineData(Pooling.Mean, new float[] { 2, 2, 1 })]
    [InlineData(Pooling.Max, new float[] { 3, 4, 2 })]
    [InlineData(Pooling.Last, new float[] { 3, 4, 0 })]
    public void Pooling_of_a_prompts_ordinary_tokens(Pooling pooling, float[] expected)
    {
        // prompt 0 has two ordinary tokens a, b (3 features); prompt 1 has none (only special tokens)
        var m = new PoolingMatrix(2, 3, pooling, nonNegative: true);
        m.Add(0, new float[] { 1, 0, 2 });
        m.Add(0, new float[] { 3, 4, 0 });
        var pooled = m.Finish();
        Assert.Equal(expected, pooled[..3]);
        Assert.Equal(new float[3], pooled[3..]);
    }

    [Fact]
    public void Feature_weight_is_the_logit_change_per_unit_of_pooled_activation()
    {
        // x' = (x − μ)·s, logit = b + Σ w x': one more unit of feature j adds wⱼ·sⱼ
        var std = new Standardizer(new float[] { 1, 0, 5 }, new float[] { 0.5f, 2, 0 });
        var sae = new LinearProbe(std, new[] { 2.0, -1.5, 3.0 }, 0.25, 1);
        var probes = new Dictionary<string, LinearProbe> { [ProbeKinds.Sae] = sae };
        var w = FeatureWeights.Of(probes, null!, ProbeKinds.Sae);
        Assert.Equal(new[] { 1.0, -3.0, 0.0 }, w);
        var x = new float[] { 2, 1, 7 };
        for (int j = 0; j < 3; j++)
        {
            var x1 = (float[])x.Clone();
            x1[j] += 1;
            Assert.Equal(w[j], sae.Logit(x1) - sae.Logit(x), 6);
        }
    }
}
