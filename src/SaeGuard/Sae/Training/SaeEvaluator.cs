using SaeGuard.Activations;

namespace SaeGuard.Sae.Training;

/// <summary>Reconstruction and sparsity metrics of an SAE on rows of activations (raw units).</summary>
public static class SaeEvaluator
{
    /// <summary>Evaluates <paramref name="sae"/> on the rows of <paramref name="blocks"/> for which <paramref name="keep"/> is true.</summary>
    public static (TrainMetrics Metrics, long[] Fires) Evaluate(SaeModel sae, IEnumerable<RowBlock> blocks, Func<RowBlock, int, bool>? keep = null, TrainData? data = null)
    {
        int d = sae.DIn, m = sae.DSae;
        const int Chunk = 2048;
        var x = new float[Chunk * d];
        var codes = new float[Chunk * m];
        var xhat = new float[Chunk * d];
        var fires = new long[m];
        var stats = new StepStats(d);
        int n = 0;
        void Flush()
        {
            if (n == 0) return;
            sae.Encode(x.AsSpan(0, n * d), n, codes.AsSpan(0, n * m));
            sae.Decode(codes.AsSpan(0, n * m), n, xhat.AsSpan(0, n * d));
            for (int t = 0; t < n; t++)
            {
                var xr = x.AsSpan(t * d, d); var hr = xhat.AsSpan(t * d, d); var zr = codes.AsSpan(t * m, m);
                double sse = 0, xx = 0, hh = 0;
                for (int i = 0; i < d; i++)
                {
                    double e = hr[i] - xr[i];
                    sse += e * e; xx += (double)xr[i] * xr[i]; hh += (double)hr[i] * hr[i];
                    stats.SumX[i] += xr[i];
                }
                stats.Sse += sse; stats.SumSq += xx; stats.L2Ratio += xx > 0 ? Math.Sqrt(hh / xx) : 0;
                for (int j = 0; j < m; j++) if (zr[j] > 0) { fires[j]++; stats.Active++; }
            }
            stats.Tokens += n;
            n = 0;
        }
        foreach (var b in blocks)
        {
            if (b.D != d) throw new Common.UserError($"The activations are {b.D} wide but the SAE expects d_in = {d}.");
            for (int i = 0; i < b.Rows; i++)
            {
                if (keep != null && !keep(b, i)) continue;
                var row = b.Data.AsSpan(i * d, d);
                data?.CheckFinite(row, b.RowIds[i]);
                row.CopyTo(x.AsSpan(n * d, d));
                if (++n == Chunk) Flush();
            }
        }
        Flush();
        var metrics = TrainMetrics.FromStats(stats, d, 1.0).WithFrequencies(fires, stats.Tokens);
        return (metrics, fires);
    }
}
