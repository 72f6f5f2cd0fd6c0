using SaeGuard.IO;
using SaeGuard.IO.Torch;
using SaeGuard.Tests.Infrastructure;
using static SaeGuard.Tests.Scale.PeakMemoryTests;

namespace SaeGuard.Tests.Scale;

/// <summary>
/// Peak resident memory of encode, probe, train straight from the model, and analyze on foreign
/// .pt/.npz chunks, on a 1× and an 8× input, measured around a separate CLI process as in
/// <see cref="PeakMemoryTests"/>: within 15%. The children run with a GC heap limit
/// (<see cref="HeapLimit"/>, except training from the model, which loads the model file whole), so the garbage the collector has not yet reclaimed — which grows with
/// the number of blocks read, and made 1×/8× peaks differ by up to ±35% run to run — does not count,
/// while live memory that grew with the input would exceed the limit and fail the run.
/// </summary>
public class PeakMemoryReadersTests
{
    /// <summary>48 MB of managed heap: more than any of these runs keeps live at 1×.</summary>
    static readonly Dictionary<string, string> HeapLimit = new() { ["DOTNET_GCHeapHardLimit"] = "0x3000000" };

    [Fact]
    public void Encode_and_probe_peak_memory_do_not_grow_with_the_dump()
    {
        Assert.True(HaveTime(out var why), why);
        using var tmp = new TempDir();
        var small = SyntheticDump(tmp, "d1", 40_000);
        var large = SyntheticDump(tmp, "d8", 320_000);
        var (code, _, err) = CliProcess.Run("train", "--acts", small, "--out", tmp["sae"], "--expansion", "4", "--k", "8", "--batch", "1024", "--tokens", "4096", "--threads", "2");
        Assert.True(code == 0, err);
        long Encode(string dump, string name)
        {
            var (c, e, kb) = CliProcess.RunMeasured(tmp[name + ".rss"], HeapLimit, "encode", "--acts", dump, "--sae", tmp["sae"], "--out", tmp[name], "--max-shard-mb", "1");
            Assert.True(c == 0, e);
            return kb;
        }
        // an output shard is buffered whole before it is written: 1 MB shards, so 1× already writes several
        AssertFlat("encode", LowerOfTwo(n => Encode(small, n), "e1"), LowerOfTwo(n => Encode(large, n), "e8"));
        // the prompts used are capped (the pooled matrix is per prompt); every row of the dump is still read and pooled
        long Probe(string dump, string name)
        {
            var (c, e, kb) = CliProcess.RunMeasured(tmp[name + ".rss"], HeapLimit, "probe", "--acts", dump, "--sae", tmp["sae"], "--out", tmp[name],
                "--max-per-class", "100", "--folds", "2", "--max-features", "8", "--top-k", "8");
            Assert.True(c == 0, e);
            return kb;
        }
        AssertFlat("probe", LowerOfTwo(n => Probe(small, n), "p1"), LowerOfTwo(n => Probe(large, n), "p8"));
    }

    [Fact]
    public void Training_from_the_model_peak_memory_does_not_grow_with_the_corpus()
    {
        Assert.True(HaveTime(out var why), why);
        using var tmp = new TempDir();
        long Train(int docs, string name)
        {
            var (c, e, kb) = CliProcess.RunMeasured(tmp[name + ".rss"], "train", "--model", "minilm", "--input", TestPaths.SharedData("wikitext", "wiki.test.raw"),
                "--max-docs", docs.ToString(), "--max-length", "32", "--layer", "1", "--buffer-batches", "4", "--batch", "256",
                "--expansion", "2", "--k", "8", "--tokens", "0", "--out", tmp[name]);
            Assert.True(c == 0, e);
            return kb;
        }
        // no heap limit here: the model file alone is read into a ~90 MB buffer; the run is flat without one
        AssertFlat("train (from the model)", Train(100, "m1"), Train(800, "m8"));
    }

    /// <summary>
    /// One [rows, 64] f32 chunk as .pt and as deflated .npz: analyze holds a block (8,192 rows), not
    /// the chunk; the 1× chunk already spans 6 blocks.
    /// </summary>
    [Theory]
    [InlineData(".pt")]
    [InlineData(".npz")]
    public void Analyze_on_a_foreign_chunk_peak_memory_does_not_grow_with_the_chunk(string ext)
    {
        Assert.True(HaveTime(out var why), why);
        using var tmp = new TempDir();
        string Chunk(string name, int rows)
        {
            const int d = 64;
            var rng = new Random(rows);
            var x = new float[rows * d];
            for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() < 0.3 ? (float)rng.NextDouble() : 0f;
            var dir = tmp[name];
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, "feats_chunk0" + ext);
            if (ext == ".pt") TorchWriter.Save(path, new TorchTensorData("", DType.F32, new long[] { rows, d }, System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray()));
            else new NpzWriter().Add("feats", x, rows, d).Save(path, compress: true);
            return dir;
        }
        long Analyze(string dir, string name)
        {
            var (c, e, kb) = CliProcess.RunMeasured(tmp[name + ".rss"], HeapLimit, "analyze", "--dump", dir, "--out", tmp[name], "--sample-tokens", "2000", "--threads", "2");
            Assert.True(c == 0, e);
            return kb;
        }
        // 12.6 MB and 100 MB of float32
        var c1 = Chunk("c1", 49_152);
        var c8 = Chunk("c8", 393_216);
        AssertFlat($"analyze ({ext} chunk)", LowerOfTwo(n => Analyze(c1, n), "a1"), LowerOfTwo(n => Analyze(c8, n), "a8"));
    }
}
