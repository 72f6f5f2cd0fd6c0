using System.Numerics.Tensors;
using SaeGuard.Sae;

namespace SaeGuard.Features;

/// <summary>Each feature's nearest features by cosine between decoder rows (W_dec is [d_sae, d_in]).</summary>
public static class DecoderNeighbours
{
    public static (int Id, double Cosine)[][] Of(SaeModel sae, int k)
    {
        int m = sae.DSae, d = sae.DIn;
        var result = new (int, double)[m][];
        if (k == 0) { for (int j = 0; j < m; j++) result[j] = Array.Empty<(int, double)>(); return result; }
        var unit = new float[(long)m * d];
        for (int j = 0; j < m; j++)
        {
            var row = sae.WDec.AsSpan(j * d, d);
            float n = TensorPrimitives.Norm(row);
            if (n > 0) TensorPrimitives.Divide(row, n, unit.AsSpan(j * d, d));
        }
        using var bar = new Common.ProgressBar("features: decoder neighbours", m, "features");
        Parallel.For(0, m, j =>
        {
            var a = unit.AsSpan(j * d, d);
            var best = new PriorityQueue<int, double>();
            for (int i = 0; i < m; i++)
            {
                if (i == j) continue;
                double c = TensorPrimitives.Dot(a, unit.AsSpan(i * d, d));
                if (best.Count < k) best.Enqueue(i, c);
                else if (best.TryPeek(out _, out var low) && c > low) best.EnqueueDequeue(i, c);
            }
            var list = new List<(int, double)>();
            while (best.TryDequeue(out var i, out var c)) list.Add((i, c));
            list.Reverse();
            result[j] = list.ToArray();
            lock (bar) bar.Advance(1);
        });
        return result;
    }
}
