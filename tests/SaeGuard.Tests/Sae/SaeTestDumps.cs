using SaeGuard.Activations;
using SaeGuard.Data;

namespace SaeGuard.Tests.Sae;

/// <summary>Writes small activation dumps (one document per <c>rowsPerDoc</c> rows) for SAE tests.</summary>
static class SaeTestDumps
{
    public static DumpMeta Write(string dir, float[] rows, int d, int rowsPerDoc = 50, bool f16 = false, long maxShardBytes = 64L << 20, bool specialFirst = false)
    {
        int n = rows.Length / d;
        using var w = new DumpWriter(dir, new DumpMeta { Model = "test-model", Layer = 3, ModelSha256 = "abc" }, d, f16, 0, maxShardBytes);
        int doc = 0;
        for (int s = 0; s < n; s += rowsPerDoc, doc++)
        {
            int c = Math.Min(rowsPerDoc, n - s);
            w.AddDoc(new DocRecord { Id = doc, Text = $"document {doc}", Source = "test" });
            var special = new bool[c];
            if (specialFirst) special[0] = true;
            w.AddRows(doc, rows.AsSpan(s * d, c * d), Enumerable.Range(s, c).Select(i => i % 100).ToArray(), special);
        }
        return w.Complete(i => $"tok{i}", 100);
    }

    /// <summary>Planted-dictionary rows for quick runs.</summary>
    public static float[] Planted(int n, int d, int atoms, int seed) => new SyntheticDictionary(d, atoms, seed).Sample(n, 2, 4, 0.02, seed + 1);
}
