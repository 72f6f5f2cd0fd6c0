using SaeGuard.Sae.Training;

namespace SaeGuard.Tests.Sae;

/// <summary>
/// A deliberately naive float64 implementation of each architecture's training loss, written from
/// the definitions (not from the trainer's code), for finite-difference gradient checks.
/// </summary>
sealed class ReferenceSae
{
    public required string Arch { get; init; }
    public required int D { get; init; }
    public required int M { get; init; }
    public int K { get; init; }
    public double Coef { get; init; }
    public double Bandwidth { get; init; }
    public int KAux { get; init; }
    public double AuxCoef { get; init; }
    /// <summary>Latents that had not fired before this batch (AuxK candidates unless they fire now).</summary>
    public int[] DeadBefore { get; init; } = Array.Empty<int>();

    public sealed class P
    {
        public double[] WEncT = Array.Empty<double>(), BEnc = Array.Empty<double>(), WDec = Array.Empty<double>(), BDec = Array.Empty<double>(), Theta = Array.Empty<double>();
        public static P From(SaeParams s) => new()
        {
            WEncT = s.WEncT.Select(v => (double)v).ToArray(), BEnc = s.BEnc.Select(v => (double)v).ToArray(),
            WDec = s.WDec.Select(v => (double)v).ToArray(), BDec = s.BDec.Select(v => (double)v).ToArray(),
            Theta = s.Theta?.Select(v => (double)v).ToArray() ?? Array.Empty<double>(),
        };
        public IEnumerable<(string, double[])> All() => new[] { ("W_enc_t", WEncT), ("b_enc", BEnc), ("W_dec", WDec), ("b_dec", BDec), ("theta", Theta) };
    }

    public double[,] Pre(P p, double[,] x)
    {
        int n = x.GetLength(0);
        var pre = new double[n, M];
        for (int t = 0; t < n; t++)
            for (int j = 0; j < M; j++)
            {
                double s = p.BEnc[j];
                for (int i = 0; i < D; i++) s += (x[t, i] - p.BDec[i]) * p.WEncT[j * D + i];
                pre[t, j] = s;
            }
        return pre;
    }

    public double[,] Codes(P p, double[,] pre)
    {
        int n = pre.GetLength(0);
        var z = new double[n, M];
        switch (Arch)
        {
            case "relu":
                for (int t = 0; t < n; t++) for (int j = 0; j < M; j++) z[t, j] = Math.Max(0, pre[t, j]);
                break;
            case "jumprelu":
                for (int t = 0; t < n; t++) for (int j = 0; j < M; j++) z[t, j] = pre[t, j] > p.Theta[j] && pre[t, j] > 0 ? pre[t, j] : 0;
                break;
            case "topk":
                for (int t = 0; t < n; t++)
                    foreach (var j in Enumerable.Range(0, M).Where(j => pre[t, j] > 0).OrderByDescending(j => pre[t, j]).ThenBy(j => j).Take(K))
                        z[t, j] = pre[t, j];
                break;
            case "batchtopk":
                var all = (from t in Enumerable.Range(0, n) from j in Enumerable.Range(0, M) where pre[t, j] > 0 select (t, j, v: pre[t, j]))
                    .OrderByDescending(e => e.v).Take(K * n);
                foreach (var (t, j, v) in all) z[t, j] = v;
                break;
        }
        return z;
    }

    public double[,] Decode(P p, double[,] z)
    {
        int n = z.GetLength(0);
        var xh = new double[n, D];
        for (int t = 0; t < n; t++)
            for (int i = 0; i < D; i++)
            {
                double s = p.BDec[i];
                for (int j = 0; j < M; j++) s += z[t, j] * p.WDec[j * D + i];
                xh[t, i] = s;
            }
        return xh;
    }

    /// <summary>The loss; <paramref name="residual"/> (x − x̂ at the base point, held fixed as in AuxK's stop-gradient) is computed when null.</summary>
    public double Loss(P p, double[,] x, ref double[,]? residual)
    {
        int n = x.GetLength(0);
        var pre = Pre(p, x);
        var z = Codes(p, pre);
        var xh = Decode(p, z);
        double loss = 0;
        for (int t = 0; t < n; t++) for (int i = 0; i < D; i++) loss += (xh[t, i] - x[t, i]) * (xh[t, i] - x[t, i]);
        loss /= n;
        if (residual == null)
        {
            residual = new double[n, D];
            for (int t = 0; t < n; t++) for (int i = 0; i < D; i++) residual[t, i] = x[t, i] - xh[t, i];
        }
        if (Arch == "relu")
        {
            double pen = 0;
            for (int j = 0; j < M; j++)
            {
                double nrm = Math.Sqrt(Enumerable.Range(0, D).Sum(i => p.WDec[j * D + i] * p.WDec[j * D + i]));
                for (int t = 0; t < n; t++) pen += z[t, j] * nrm;
            }
            loss += Coef * pen / n;
        }
        if (Arch == "jumprelu")
        {
            int active = 0;
            for (int t = 0; t < n; t++) for (int j = 0; j < M; j++) if (z[t, j] > 0) active++;
            loss += Coef * active / n;
        }
        if (Arch is "topk" or "batchtopk" && DeadBefore.Length > 0)
        {
            var fired = new HashSet<int>();
            for (int t = 0; t < n; t++) for (int j = 0; j < M; j++) if (z[t, j] > 0) fired.Add(j);
            var dead = DeadBefore.Where(j => !fired.Contains(j)).ToArray();
            if (dead.Length > 0)
            {
                int ka = Math.Min(KAux, dead.Length);
                double c = AuxCoef * Math.Min((double)dead.Length / KAux, 1);
                double aux = 0;
                for (int t = 0; t < n; t++)
                {
                    var sel = dead.Where(j => pre[t, j] > 0).OrderByDescending(j => pre[t, j]).ThenBy(j => j).Take(ka).ToArray();
                    for (int i = 0; i < D; i++)
                    {
                        double e = sel.Sum(j => pre[t, j] * p.WDec[j * D + i]) - residual[t, i];
                        aux += e * e;
                    }
                }
                loss += c * aux / n;
            }
        }
        return loss;
    }

    /// <summary>JumpReLU's straight-through θ gradient, from its definition.</summary>
    public double[] ThetaGradient(P p, double[,] x)
    {
        int n = x.GetLength(0);
        var pre = Pre(p, x);
        var z = Codes(p, pre);
        var xh = Decode(p, z);
        var g = new double[M];
        for (int t = 0; t < n; t++)
            for (int j = 0; j < M; j++)
            {
                double u = (pre[t, j] - p.Theta[j]) / Bandwidth;
                if (!(u > -0.5 && u < 0.5)) continue;
                double dz = 0;
                for (int i = 0; i < D; i++) dz += 2.0 / n * (xh[t, i] - x[t, i]) * p.WDec[j * D + i];
                g[j] += dz * (-p.Theta[j] / Bandwidth) - Coef / (Bandwidth * n);
            }
        return g;
    }
}
