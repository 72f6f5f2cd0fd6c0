using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Sae;

namespace SaeGuard.Tests.Probes;

/// <summary>
/// Small activation dumps written with <see cref="DumpWriter"/> (no model): each document is a
/// special token, 3–10 ordinary tokens, a special token. Harmful documents' ordinary tokens are
/// shifted by <c>shift</c> along a fixed unit direction, so the classes are linearly separable
/// to a degree set by the shift.
/// </summary>
static class SyntheticActs
{
    public sealed record Doc(string Label, string? Category, string Source, float[][] Tokens);

    public static List<Doc> Make(int harmful, int benign, int d, double shift, int seed, string[]? harmfulCategories = null)
    {
        var rng = new Random(seed);
        var dir = Unit(d, rng);
        var docs = new List<Doc>();
        for (int i = 0; i < harmful + benign; i++)
        {
            bool h = i < harmful;
            int n = 3 + rng.Next(8);
            var toks = new float[n][];
            for (int t = 0; t < n; t++)
            {
                toks[t] = new float[d];
                for (int j = 0; j < d; j++) toks[t][j] = (float)(Gauss(rng) + (h ? shift * dir[j] : 0));
            }
            var cat = h && harmfulCategories != null ? harmfulCategories[i % harmfulCategories.Length] : null;
            docs.Add(new Doc(h ? "harmful" : "benign", cat, h ? "synthetic_harmful" : "synthetic_benign", toks));
        }
        return docs;
    }

    /// <summary>Writes the documents as an f32 dump; token ids count up from 10 (0/1 = the special tokens).</summary>
    public static string Write(string dir, IReadOnlyList<Doc> docs, int d, string model = "synthetic", int layer = 0)
    {
        var template = new DumpMeta { Kind = "activations", Model = model, Layer = layer, Hook = "resid_post", MaxLength = 64 };
        using var w = new DumpWriter(dir, template, d, f16: false);
        int nextToken = 10;
        for (int i = 0; i < docs.Count; i++)
        {
            var doc = docs[i];
            int n = doc.Tokens.Length + 2;
            var rows = new float[n * d];
            for (int t = 0; t < doc.Tokens.Length; t++) doc.Tokens[t].CopyTo(rows, (t + 1) * d);
            var ids = new int[n];
            var special = new bool[n];
            ids[0] = 0; special[0] = true; ids[n - 1] = 1; special[n - 1] = true;
            for (int t = 1; t < n - 1; t++) ids[t] = nextToken++ % 500 + 10;
            w.AddDoc(new DocRecord { Id = i, Text = $"document {i} ({doc.Label})", Label = doc.Label, Category = doc.Category, Source = doc.Source });
            w.AddRows(i, rows, ids, special);
        }
        w.Complete(id => id == 0 ? "[CLS]" : id == 1 ? "[SEP]" : $"tok{id}", 520);
        return dir;
    }

    /// <summary>A TopK SAE with random unit decoder rows.</summary>
    public static SaeModel RandomSae(int d, int dSae, int k, int seed, int layer = 0)
    {
        var rng = new Random(seed);
        var wDec = new float[dSae * d];
        for (int j = 0; j < dSae; j++) Unit(d, rng).Select(v => (float)v).ToArray().CopyTo(wDec, j * d);
        return TestSaes.FromDecoder(wDec, new float[d], d, dSae, k, new DumpMeta { Model = "synthetic", Layer = layer });
    }

    static double[] Unit(int d, Random rng)
    {
        var v = Enumerable.Range(0, d).Select(_ => Gauss(rng)).ToArray();
        double n = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / n).ToArray();
    }

    public static double Gauss(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
