using SaeGuard.Activations;
using SaeGuard.Sae;

namespace SaeGuard.Tests.Analysis;

/// <summary>
/// A dictionary-learning toy: activations are sums of 3 of 128 unit atoms in 32 dimensions plus
/// an offset b; the SAE encodes with W_enc = atomsᵀ, b_dec = b, TopK (or ReLU) and decodes with
/// the atoms, so it reconstructs the data well at the scale it was "trained" on.
/// </summary>
static class SyntheticSae
{
    public const int DIn = 32, DSae = 128;

    public static (SaeModel Sae, float[] Acts, double MeanNorm) Make(int rows, int seed, string arch = "topk", bool recordNorm = true, float bEnc = 0, string? l1 = null)
    {
        var rng = new Random(seed);
        var atoms = new float[DSae * DIn];
        for (int j = 0; j < DSae; j++)
        {
            var v = Enumerable.Range(0, DIn).Select(_ => Synthetic.Gaussian(rng)).ToArray();
            double n = Math.Sqrt(v.Sum(a => a * a));
            for (int i = 0; i < DIn; i++) atoms[j * DIn + i] = (float)(v[i] / n);
        }
        var offset = Enumerable.Range(0, DIn).Select(_ => (float)(0.6 * Synthetic.Gaussian(rng))).ToArray();
        var x = new float[rows * DIn];
        double norms = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * DIn, DIn);
            offset.CopyTo(row);
            for (int t = 0; t < 3; t++)
            {
                int j = rng.Next(DSae);
                float a = (float)(1 + 2 * rng.NextDouble());
                for (int i = 0; i < DIn; i++) row[i] += a * atoms[j * DIn + i];
            }
            double sq = 0;
            foreach (var v in row) sq += v * v;
            norms += Math.Sqrt(sq);
        }
        double meanNorm = norms / rows;
        var wEnc = new float[DIn * DSae];
        for (int j = 0; j < DSae; j++) for (int i = 0; i < DIn; i++) wEnc[i * DSae + j] = atoms[j * DIn + i];
        var training = new Dictionary<string, string>();
        if (l1 != null) training["l1_coefficient"] = l1;
        var cfg = new SaeConfig
        {
            DIn = DIn, DSae = DSae, Architecture = arch, K = arch == "topk" ? 4 : 0, ApplyBDecToInput = true,
            Metadata = new SaeMetadata { ModelName = "toy", HookName = "toy", TrainActivationNorm = recordNorm ? meanNorm : null },
            Training = training,
        };
        var b = Enumerable.Repeat(bEnc, DSae).ToArray();
        return (new SaeModel(cfg, wEnc, b, atoms, offset), x, meanNorm);
    }

    /// <summary>Writes rows as a SaeGuard dump (f32; 10 tokens per document, labels alternating harmful/benign).</summary>
    public static void WriteDump(string dir, float[] x, int rows, int d, string kind = "activations", bool specialFirst = false)
    {
        using var w = new DumpWriter(dir, new DumpMeta { Kind = kind, Model = "toy", Hook = "resid_post" }, d, f16: false, maxShardBytes: 1 << 16);
        for (int doc = 0, r0 = 0; r0 < rows; doc++, r0 += 10)
        {
            int n = Math.Min(10, rows - r0);
            w.AddDoc(new SaeGuard.Data.DocRecord { Id = doc, Text = $"doc {doc}", Label = doc % 2 == 0 ? "harmful" : "benign", Source = "toy" });
            var special = Enumerable.Range(0, n).Select(i => specialFirst && i == 0).ToArray();
            w.AddRows(doc, x.AsSpan(r0 * d, n * d), Enumerable.Range(0, n).ToArray(), special);
        }
        w.Complete();
    }

    public static void Scale(float[] x, float s) { for (int i = 0; i < x.Length; i++) x[i] *= s; }
}
