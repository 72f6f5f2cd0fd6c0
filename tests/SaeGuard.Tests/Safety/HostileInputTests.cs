using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using SaeGuard.IO;
using SaeGuard.IO.Pickle;
using SaeGuard.IO.Torch;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Interop;

namespace SaeGuard.Tests.Safety;

/// <summary>Issue 12, cases 3 and 6: small hostile files stop quickly, with the file and the limit named.</summary>
public class HostileInputTests
{
    static byte[] P(string s) => Encoding.Latin1.GetBytes(s);

    static (int Code, string Err, TimeSpan Took) ConvertPt(TempDir tmp, byte[] pickle)
    {
        var pt = tmp["hostile.pt"];
        TorchZip.WritePickle(pt, pickle);
        File.WriteAllText(tmp["bystander.txt"], "untouched");
        var sw = Stopwatch.StartNew();
        var (code, _, err) = CliHarness.Run("sae", "convert", "--from", pt, "--to", tmp["out"]);
        return (code, err, sw.Elapsed);
    }

    [Fact]
    public void A_dict_key_that_is_a_tuple_tree_with_shared_children_is_refused_at_once()
    {
        using var tmp = new TempDir();
        var pickle = P("}N" + string.Concat(Enumerable.Repeat("2\u0086", 64)) + "Ns.");
        var (code, err, took) = ConvertPt(tmp, pickle);
        Assert.Equal(1, code);
        Assert.Contains("hostile.pt", err);
        Assert.Contains($"nested deeper than {RestrictedUnpickler.MaxKeyDepth} levels", err);
        Assert.True(took < TimeSpan.FromSeconds(10), $"took {took}");
        Assert.False(Directory.Exists(tmp["out"]));
        Assert.Equal("untouched", File.ReadAllText(tmp["bystander.txt"]));
    }

    [Fact]
    public void A_30000_deep_tuple_key_is_refused_without_overflowing_the_stack()
    {
        using var tmp = new TempDir();
        var pickle = P("}N" + new string('\u0085', 30_000) + "Ns.");
        var (code, err, took) = ConvertPt(tmp, pickle);
        Assert.Equal(1, code);
        Assert.Contains("hostile.pt", err);
        Assert.Contains($"nests deeper than {RestrictedUnpickler.MaxDepth} levels", err);
        Assert.True(took < TimeSpan.FromSeconds(10), $"took {took}");
    }

    [Fact]
    public void Deep_nesting_is_refused_while_the_pickle_runs_lists_and_dicts_too()
    {
        foreach (var pickle in new[]
                 {
                     "N" + new string('\u0085', 200_000) + ".",                        // tuples
                     string.Concat(Enumerable.Repeat("]", 200_000)) + string.Concat(Enumerable.Repeat("a", 199_999)) + ".", // lists appended into lists
                     "}" + string.Concat(Enumerable.Repeat("K\u0001}", 100_000)) + string.Concat(Enumerable.Repeat("s", 100_000)) + ".", // dicts as values
                 })
        {
            var sw = Stopwatch.StartNew();
            var e = Assert.Throws<InvalidDataException>(() => RestrictedUnpickler.Load(P(pickle), "'x.pkl'", new NoGlobals()));
            Assert.Contains("nests deeper than 100 levels", e.Message);
            Assert.Contains("'x.pkl'", e.Message);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        }
    }

    [Fact]
    public void Shared_subtrees_outside_keys_hit_the_walk_budget_not_the_clock()
    {
        // a list holding itself twice per level through the memo: 2^60 paths, 300 bytes
        var sb = new StringBuilder("N");
        for (int i = 0; i < 60; i++) sb.Append("2\u0086");
        sb.Append('.');
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<InvalidDataException>(() => RestrictedUnpickler.Load(P(sb.ToString()), "'x.pkl'", new NoGlobals()));
        Assert.Contains("visits more than", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Integer_keys_chosen_to_collide_in_a_folded_hash_still_load_fast_and_exactly()
    {
        const int N = 60_000;
        var ms = new MemoryStream();
        ms.Write(P("}("));
        var buf = new byte[8];
        for (long i = 1; i <= N; i++)
        {
            long k = (i << 32) | i; // (int)k ^ (int)(k >> 32) == 0 for every key
            BinaryPrimitives.WriteInt64LittleEndian(buf, k);
            ms.WriteByte(0x8a); ms.WriteByte(8); ms.Write(buf);
            ms.WriteByte((byte)'K'); ms.WriteByte((byte)(i % 251));
        }
        ms.Write(P("u."));
        var sw = Stopwatch.StartNew();
        var d = Assert.IsType<PyDict>(RestrictedUnpickler.Load(ms.ToArray(), "'x.pkl'", new NoGlobals()));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        Assert.Equal(N, d.Count);
        Assert.Equal(7L % 251, d[(7L << 32) | 7L]);
    }

    [Fact]
    public void A_key_tuple_holding_a_list_is_refused_by_name()
    {
        var e = Assert.Throws<InvalidDataException>(() => RestrictedUnpickler.Load(P("}]\u0085Ns."), "'x.pkl'", new NoGlobals()));
        Assert.Contains("unhashable (a list)", e.Message);
    }

    [Fact]
    public void A_safetensors_header_larger_than_its_data_is_refused_unparsed()
    {
        using var tmp = new TempDir();
        var path = tmp["empty_tensors.safetensors"];
        var sb = new StringBuilder("{");
        for (int i = 0; i < 60_000; i++) sb.Append($"\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}},");
        sb.Length--; sb.Append('}');
        var header = Encoding.UTF8.GetBytes(sb.ToString());
        using (var fs = File.Create(path))
        {
            var len = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(len, header.Length);
            fs.Write(len); fs.Write(header);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<InvalidDataException>(() => new SafeTensorsReader(path));
        Assert.Contains("empty_tensors.safetensors", e.Message);
        Assert.Contains($"is larger than the 0 bytes of data it describes (limit: data + {SafeTensorsReader.HeaderSlack:N0} bytes)", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the header was read before it was refused");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"took {sw.Elapsed}");
    }

    [Fact]
    public void A_safetensors_tensor_of_absurd_rank_is_refused()
    {
        using var tmp = new TempDir();
        var path = tmp["rank.safetensors"];
        var header = Encoding.UTF8.GetBytes("{\"t\":{\"dtype\":\"U8\",\"shape\":[" + string.Join(",", Enumerable.Repeat("1", 40)) + "],\"data_offsets\":[0,1]}}");
        using (var fs = File.Create(path))
        {
            var len = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(len, header.Length);
            fs.Write(len); fs.Write(header); fs.WriteByte(7);
        }
        Assert.Contains($"40 dimensions, more than the limit of {SafeTensorsReader.MaxRank}", Assert.Throws<InvalidDataException>(() => new SafeTensorsReader(path)).Message);
    }

    sealed class NoGlobals : IPickleAllowList
    {
        public bool Allows(PyGlobal g) => false;
        public object? Call(PyGlobal g, object?[] args) => throw new InvalidOperationException();
        public object? PersistentLoad(object? pid) => throw new InvalidDataException("no persistent ids");
    }
}

/// <summary>Two Parquet files found by the fuzzer on which Parquet.Net loops forever (footer, then page headers): refused in time.</summary>
public class ParquetHangTests
{
    [Theory]
    [InlineData("parquet_hang_footer.b64")]
    [InlineData("parquet_hang_pages.b64")]
    public void A_damaged_parquet_file_that_made_the_library_spin_is_refused(string name)
    {
        using var tmp = new TempDir();
        var path = tmp["damaged.parquet"];
        File.WriteAllBytes(path, Convert.FromBase64String(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "SaeGuard.Tests", "Safety", name)).Trim()));
        Exception? error = null;
        var worker = new Thread(() =>
        {
            try { SaeGuard.Data.CorpusReader.Read(path, new SaeGuard.Data.CorpusReadOptions { Format = "parquet" }).ToList(); }
            catch (Exception e) { error = e; }
        }) { IsBackground = true };
        worker.Start();
        Assert.True(worker.Join(TimeSpan.FromSeconds(20)), "still reading after 20 s (hang)");
        var e = Assert.IsType<SaeGuard.Common.UserError>(error);
        Assert.Contains("damaged.parquet", e.Message);
    }
}
