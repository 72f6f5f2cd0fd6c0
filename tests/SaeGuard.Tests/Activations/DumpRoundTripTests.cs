using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Activations;

public class DumpRoundTripTests
{
    static (float[] Rows, int[] DocOf, int[] Tok, bool[] Special) Planted(int docs, int d, int seed, out int[] lengths)
    {
        var rng = new Random(seed);
        lengths = Enumerable.Range(0, docs).Select(_ => rng.Next(1, 40)).ToArray();
        int n = lengths.Sum();
        var rows = new float[n * d];
        for (int i = 0; i < rows.Length; i++) rows[i] = (float)(rng.NextDouble() * 20 - 10);
        var docOf = new int[n]; var tok = new int[n]; var special = new bool[n];
        int r = 0;
        for (int doc = 0; doc < docs; doc++)
            for (int p = 0; p < lengths[doc]; p++, r++) { docOf[r] = doc; tok[r] = rng.Next(30000); special[r] = p == 0; }
        return (rows, docOf, tok, special);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Write_then_read_gives_the_same_rows_index_and_docs(bool f16)
    {
        using var tmp = new TempDir();
        int d = 24, docs = 300;
        var (rows, docOf, tok, special) = Planted(docs, d, 7, out var lengths);
        var dir = tmp["acts"];
        var meta = new DumpMeta { Model = "test", Layer = 2 };
        using (var w = new DumpWriter(dir, meta, d, f16, maxShardBytes: 4096 * 8))
        {
            int r = 0;
            for (int doc = 0; doc < docs; doc++)
            {
                w.AddDoc(new DocRecord { Id = doc, Text = $"doc {doc}, \"quoted\"\nline", Label = doc % 2 == 0 ? "harmful" : "benign", Category = doc % 3 == 0 ? "fraud" : null, Source = "planted" });
                int n = lengths[doc];
                w.AddRows(doc, rows.AsSpan(r * d, n * d), tok.AsSpan(r, n), special.AsSpan(r, n));
                r += n;
            }
            w.Complete(id => $"tok{id}", 30000);
        }
        var dump = ActivationDump.Open(dir, verifyChecksums: true);
        Assert.True(dump.Meta.Shards.Count > 1, "several shards expected");
        Assert.Equal(rows.Length / d, dump.NTokens);
        Assert.Equal(docs, dump.Meta.NDocs);
        Assert.Equal(f16 ? "f16" : "f32", dump.Meta.Dtype);
        long row = 0;
        var lastPos = new Dictionary<int, int>();
        foreach (var b in dump.ReadBlocks(100))
        {
            for (int i = 0; i < b.Rows; i++, row++)
            {
                Assert.Equal(row, b.RowIds[i]);
                Assert.Equal(docOf[row], b.DocIds[i]);
                Assert.Equal(tok[row], b.TokenIds[i]);
                Assert.Equal(special[row], b.IsSpecial[i]);
                int expectedPos = lastPos.TryGetValue(b.DocIds[i], out var lp) ? lp + 1 : 0;
                Assert.Equal(expectedPos, b.Positions[i]);
                lastPos[b.DocIds[i]] = b.Positions[i];
                for (int j = 0; j < d; j++)
                {
                    float want = rows[row * d + j], got = b.Data[i * d + j];
                    if (f16) Assert.True(Math.Abs(want - got) <= 1e-3 * Math.Abs(want) + 1e-6, $"row {row} col {j}: {want} vs {got}");
                    else Assert.Equal(want, got);
                }
            }
        }
        Assert.Equal(rows.Length / d, row);
        Assert.Equal(docs, dump.Docs.Count);
        Assert.Equal("doc 5, \"quoted\"\nline", dump.Docs[5].Text);
        Assert.Equal("benign", dump.Docs[5].Label);
        Assert.Equal("fraud", dump.Docs[3].Category);
        Assert.Equal("tok123", dump.TokenText(123));
        foreach (var s in dump.Meta.Shards) Assert.Equal(s.Sha256, Hashing.Sha256File(Path.Combine(dir, s.File)));
    }

    [Fact]
    public void Shuffled_read_visits_every_row_once_and_reproduces_from_the_seed()
    {
        using var tmp = new TempDir();
        int d = 4, docs = 200;
        var (rows, _, tok, special) = Planted(docs, d, 3, out var lengths);
        var dir = tmp["acts"];
        using (var w = new DumpWriter(dir, new DumpMeta(), d, f16: false, maxShardBytes: 256 * 16))
        {
            int r = 0;
            for (int doc = 0; doc < docs; doc++)
            {
                w.AddDoc(new DocRecord { Id = doc, Text = "x" });
                w.AddRows(doc, rows.AsSpan(r * d, lengths[doc] * d), tok.AsSpan(r, lengths[doc]), special.AsSpan(r, lengths[doc]));
                r += lengths[doc];
            }
            w.Complete();
        }
        var dump = ActivationDump.Open(dir);
        var a = dump.ReadShuffled(64, seed: 11).SelectMany(b => b.RowIds).ToList();
        var b2 = dump.ReadShuffled(64, seed: 11).SelectMany(b => b.RowIds).ToList();
        var c = dump.ReadShuffled(64, seed: 12).SelectMany(b => b.RowIds).ToList();
        Assert.Equal(a, b2);
        Assert.NotEqual(a, c);
        Assert.Equal(Enumerable.Range(0, rows.Length / d).Select(i => (long)i), a.OrderBy(x => x));
        Assert.NotEqual(a, a.OrderBy(x => x).ToList());
        foreach (var blk in dump.ReadShuffled(50, 1))
            for (int i = 0; i < blk.Rows; i++)
                for (int j = 0; j < d; j++) Assert.Equal(rows[blk.RowIds[i] * d + j], blk.Data[i * d + j]);
    }

    [Fact]
    public void Meta_that_lies_about_row_counts_is_a_user_error()
    {
        using var tmp = new TempDir();
        var dir = tmp["acts"];
        using (var w = new DumpWriter(dir, new DumpMeta(), 3, f16: false))
        {
            w.AddDoc(new DocRecord { Id = 0, Text = "x" });
            w.AddRows(0, new float[6], new[] { 1, 2 }, new[] { false, false });
            w.Complete();
        }
        var meta = DumpMeta.Load(dir);
        (meta with { NTokens = 5 }).Save(dir);
        var e = Assert.Throws<UserError>(() => ActivationDump.Open(dir));
        Assert.Contains("n_tokens", e.Message);
        (meta with { Shards = new List<ShardInfo> { meta.Shards[0] with { Rows = 3 } }, NTokens = 3 }).Save(dir);
        e = Assert.Throws<UserError>(() => ActivationDump.Open(dir));
        Assert.Contains("shard_00000", e.Message);
    }
}
