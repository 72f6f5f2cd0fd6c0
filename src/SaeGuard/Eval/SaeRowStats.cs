using SaeGuard.Sae.Training;

namespace SaeGuard.Eval;

/// <summary>
/// SAEBench core sums of one SAE over hooked rows: the training metrics' own sums
/// (<see cref="StepStats"/>, firing counts → <see cref="TrainMetrics"/>) plus cosine, norms, L1 and
/// x·x̂ for the shrinkage figures.
/// </summary>
public sealed class SaeRowStats
{
    readonly StepStats _stats;
    readonly long[] _fires;
    double _cos, _normIn, _normOut, _hatSq, _dot, _l1;

    public SaeRowStats(int d, int m)
    {
        _stats = new StepStats(d);
        _fires = new long[m];
    }

    public long Rows => _stats.Tokens;

    public void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, ReadOnlySpan<float> z)
    {
        double sse = 0, xx = 0, hh = 0, xh = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double e = xhat[i] - x[i];
            sse += e * e; xx += (double)x[i] * x[i]; hh += (double)xhat[i] * xhat[i]; xh += (double)x[i] * xhat[i];
            _stats.SumX[i] += x[i];
        }
        _stats.Sse += sse; _stats.SumSq += xx; _stats.L2Ratio += xx > 0 ? Math.Sqrt(hh / xx) : 0;
        _stats.Tokens++;
        _cos += xx > 0 && hh > 0 ? xh / Math.Sqrt(xx * hh) : 0;
        _normIn += Math.Sqrt(xx); _normOut += Math.Sqrt(hh); _hatSq += hh; _dot += xh;
        for (int j = 0; j < z.Length; j++)
            if (z[j] > 0) { _fires[j]++; _stats.Active++; _l1 += z[j]; }
    }

    public (ReconstructionQuality, Shrinkage, Sparsity, FeatureDensity) Finish()
    {
        int d = _stats.SumX.Length;
        var t = TrainMetrics.FromStats(_stats, d, 1.0).WithFrequencies(_fires, _stats.Tokens);
        double n = Math.Max(1, _stats.Tokens);
        return (
            new ReconstructionQuality { ExplainedVariance = t.ExplainedVariance, Mse = t.Mse, Nmse = t.Nmse, Cossim = _cos / n },
            new Shrinkage { L2NormIn = _normIn / n, L2NormOut = _normOut / n, L2Ratio = t.L2Ratio, RelativeReconstructionBias = _dot != 0 ? _hatSq / _dot : double.NaN },
            new Sparsity { L0 = t.L0, L1 = _l1 / n },
            new FeatureDensity
            {
                FracAlive = (double)_fires.Count(f => f > 0) / _fires.Length, FreqOver1Percent = t.FreqOver1Pct,
                FreqOver10Percent = t.FreqOver10Pct, MaxFeatureFrequency = t.MaxFeatureFrequency,
            });
    }
}
