using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Sae;

namespace SaeGuard.Tests.Features;

/// <summary>
/// A dump whose SAE codes are known by construction: a ReLU SAE with W_enc = I, b = 0 over 8
/// dimensions, so codes = ReLU(x). 60 documents of 12 tokens: 30 harmful in three categories
/// (cyber, fraud, violence), 30 benign without one. Feature 0 fires only on cyber tokens,
/// feature 1 on every harmful token, feature 2 at random everywhere, feature 3 never; 4–7 are
/// sparse random. Values are graded in (0.05, 4]. Tokens come from a small vocabulary in which
/// "malware" is only ever seen where feature 0 fires hardest.
/// </summary>
static class PlantedFeatures
{
    public const int D = 8, Docs = 60, Len = 12;
    public static readonly string[] Categories = { "cyber", "fraud", "violence" };
    public static readonly string[] Vocab = { "the", "a", "to", "how", "make", "money", "bank", "hurt", "code", "virus", "malware", "please", "<s>" };
    public const int Malware = 10, Bos = 12;

    public static SaeModel Sae()
    {
        var eye = new float[D * D];
        for (int i = 0; i < D; i++) eye[i * D + i] = 1;
        var rng = new Random(3);
        var dec = Enumerable.Range(0, D * D).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        // feature 5's decoder row is feature 4's plus a little: nearest neighbours
        for (int i = 0; i < D; i++) dec[5 * D + i] = dec[4 * D + i] + 0.01f * (i % 3);
        var cfg = new SaeConfig { DIn = D, DSae = D, Architecture = "relu", ApplyBDecToInput = false, Metadata = new SaeMetadata { ModelName = "toy", HookName = "resid_post", Layer = 3 } };
        return new SaeModel(cfg, eye, new float[D], dec, new float[D]);
    }

    public static DocRecord Doc(int d) => d < Docs / 2
        ? new DocRecord { Id = d, Text = $"doc {d}", Label = "harmful", Category = Categories[d % 3], Source = "toy" }
        : new DocRecord { Id = d, Text = $"doc {d}", Label = "benign", Source = "toy" };

    /// <summary>Writes sae/ and acts/ into <paramref name="root"/>; returns (saeDir, actsDir).</summary>
    public static (string Sae, string Acts) Write(string root)
    {
        var saeDir = Path.Combine(root, "sae"); var actsDir = Path.Combine(root, "acts");
        SaeLensFormat.Save(Sae(), saeDir);
        var rng = new Random(11);
        using var w = new DumpWriter(actsDir, new DumpMeta { Kind = "activations", Model = "toy", Hook = "resid_post" }, D, f16: false, maxShardBytes: 1 << 12);
        for (int d = 0; d < Docs; d++)
        {
            var doc = Doc(d);
            w.AddDoc(doc);
            var x = new float[Len * D];
            var tok = new int[Len];
            var special = new bool[Len];
            for (int t = 0; t < Len; t++)
            {
                var row = x.AsSpan(t * D, D);
                for (int j = 0; j < D; j++) row[j] = -(float)rng.NextDouble(); // silent unless set below
                float V() => (float)(0.05 + 3.95 * rng.NextDouble());
                tok[t] = rng.Next(10);
                if (t == 0) { special[t] = true; tok[t] = Bos; for (int j = 0; j < D; j++) row[j] = 9; continue; } // skipped: special
                if (doc.Category == "cyber" && rng.NextDouble() < 0.6) { row[0] = V(); if (row[0] > 3.5f) tok[t] = Malware; }
                if (doc.Label == "harmful") row[1] = V();
                if (rng.NextDouble() < 0.3) row[2] = V();
                for (int j = 4; j < D; j++) if (rng.NextDouble() < 0.1) row[j] = V();
            }
            w.AddRows(d, x, tok, special);
        }
        w.Complete(id => id >= 0 && id < Vocab.Length ? Vocab[id] : "", Vocab.Length);
        return (saeDir, actsDir);
    }

    /// <summary>Every ordinary token of the dump with its codes, read back independently of the Features stage.</summary>
    public static List<(int Doc, int Position, int Token, float[] Codes)> Rows(string actsDir)
    {
        var sae = Sae();
        var dump = ActivationDump.Open(actsDir);
        var rows = new List<(int, int, int, float[])>();
        foreach (var b in dump.ReadBlocks())
            for (int r = 0; r < b.Rows; r++)
                if (!b.IsSpecial[r]) rows.Add((b.DocIds[r], b.Positions[r], b.TokenIds[r], sae.Encode(b.Data.AsSpan(r * D, D))));
        return rows;
    }
}
