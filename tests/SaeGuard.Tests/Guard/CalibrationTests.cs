using SaeGuard.Probes;

namespace SaeGuard.Tests.Guard;

public class CalibrationTests
{
    [Fact]
    public void Platt_recovers_a_known_logistic_link()
    {
        // x on a grid, 1000 labels per point with round(1000·σ(2x − 1)) ones: the MLE is A ≈ 2, B ≈ −1.
        var x = new List<double>();
        var y = new List<int>();
        for (int g = -10; g <= 10; g++)
        {
            double v = g / 4.0;
            int ones = (int)Math.Round(1000 * LogisticRegression.Sigmoid(2 * v - 1));
            for (int k = 0; k < 1000; k++) { x.Add(v); y.Add(k < ones ? 1 : 0); }
        }
        var p = PlattScaling.Fit(x.ToArray(), y.ToArray());
        Assert.Equal(2.0, p.A, 2);
        Assert.Equal(-1.0, p.B, 2);
        Assert.Equal(0.5, p.Apply(0.5), 2);
        Assert.Equal(0.75, p.Apply(p.LogitFor(0.75)), 9);
    }

    [Fact]
    public void Isotonic_pools_adjacent_violators()
    {
        // labels 0,1,0,1 at scores 1,2,3,4: the violating pair (2,3) pools to ½.
        var iso = IsotonicCalibration.Fit(new double[] { 3, 1, 4, 2 }, new[] { 0, 0, 1, 1 });
        Assert.Equal(new double[] { 1, 2, 4 }, iso.BlockLowerEdges);
        Assert.Equal(new double[] { 0, 0.5, 1 }, iso.BlockValues);
        Assert.Equal(0.0, iso.Apply(-5));
        Assert.Equal(0.5, iso.Apply(2));
        Assert.Equal(0.5, iso.Apply(3.9));
        Assert.Equal(1.0, iso.Apply(4));
        Assert.Equal(1.0, iso.Apply(100));
    }

    [Fact]
    public void Brier_and_ece_match_hand_values()
    {
        var p = new[] { 0.2, 0.8, 0.85 };
        var y = new[] { 0, 1, 0 };
        Assert.Equal((0.04 + 0.04 + 0.7225) / 3, CalibrationMetrics.Brier(p, y), 12);
        // bins: [0.2,0.3) holds 0.2 (label 0); [0.8,0.9) holds 0.8 and 0.85 (labels 1, 0): |1.65 − 1| / 3 + 0.2 / 3.
        Assert.Equal((0.2 + 0.65) / 3, CalibrationMetrics.Ece(p, y), 12);
    }
}
