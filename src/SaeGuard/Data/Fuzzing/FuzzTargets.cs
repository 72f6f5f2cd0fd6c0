using System.IO.Compression;
using System.Text;
using SaeGuard.IO;
using SaeGuard.IO.Fuzzing;
using SaeGuard.IO.Torch;

namespace SaeGuard.Data.Fuzzing;

/// <summary>
/// The parsers SaeGuard exposes to files from elsewhere, each with real seed files: the interop
/// fixtures (tests/SaeGuard.Tests/Fixtures/interop) and small corpora written here. GGUF lives in
/// its own assembly; its callers add that target.
/// </summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All(string interopFixtures, string workDir)
    {
        string F(params string[] parts) => Path.Combine(new[] { interopFixtures }.Concat(parts).ToArray());
        byte[][] Read(params string[] files) => files.Select(File.ReadAllBytes).ToArray();
        var limits = new ReadLimits { MaxEntryBytes = 64 << 20 };
        var torchSeeds = Read(new[] { "dict_f16_meta", "state_dict", "view_offset", "dtypes" }.Select(n => F("torch", n + ".pt")).ToArray());
        return new List<FuzzTarget>
        {
            new("npy", ".npy", Read(new[] { "f4", "i8_fortran_3d", "b1", "f4_v3", "f2" }.Select(n => F("numpy", n + ".npy")).ToArray()),
                p => ParserFuzzer.Digest(new[] { ("root", (ITensorData)NpyReader.Read(p)) })),
            new("npz", ".npz", Read(F("numpy", "stored.npz"), F("numpy", "deflated.npz")), p =>
            {
                using var r = NpzReader.Open(p);
                return ParserFuzzer.Digest(r.Keys.Select(k => (k, (ITensorData)r.Read(k))).ToList());
            }),
            new("safetensors", ".safetensors", Read(F("safetensors", "all_dtypes.safetensors"), F("sae", "saelens_topk", "sae_weights.safetensors")), p =>
            {
                using var r = new SafeTensorsReader(p);
                return ParserFuzzer.Digest(r.Tensors.Keys.Order(StringComparer.Ordinal).Select(k => (k, (ITensorData)r.ReadTensor(k))).ToList());
            }),
            new("torch", ".pt", torchSeeds, p => TorchDigest(TorchPickleReader.Load(p, limits))),
            new("pickle", ".pt", torchSeeds, p => TorchDigest(TorchPickleReader.Load(p, limits)))
                { MutateInside = (pt, mutate) => RewriteEntry(pt, "data.pkl", mutate) },
            new("csv", ".csv", new[] { Encoding.UTF8.GetBytes(SampleCsv) }, p => CorpusDigest(p, "csv")),
            new("jsonl", ".jsonl", new[] { Encoding.UTF8.GetBytes(SampleJsonl) }, p => CorpusDigest(p, "jsonl")),
            new("json", ".json", new[] { Encoding.UTF8.GetBytes(SampleJson) }, p => CorpusDigest(p, "json")),
            new("parquet", ".parquet", new[] { SampleParquet(workDir) }, p => CorpusDigest(p, "parquet")),
        };
    }

    static string TorchDigest(object? root) =>
        ParserFuzzer.Digest(TorchPickleReader.FlattenTensors(root).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, (ITensorData)kv.Value)));

    static string CorpusDigest(string path, string format)
    {
        var docs = CorpusReader.Read(path, new CorpusReadOptions { Format = format, TextColumn = "text", LabelColumn = "label" }).ToList();
        return string.Join("\n", docs.Select(d => $"{d.Text}\u0001{d.Label}"));
    }

    /// <summary>The zip with one entry (by name suffix) rewritten; the others copied as they are.</summary>
    public static byte[] RewriteEntry(byte[] zipBytes, string suffix, Func<byte[], byte[]> change)
    {
        using var src = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read);
        var ms = new MemoryStream();
        using (var dst = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var e in src.Entries)
            {
                using var es = e.Open();
                var data = new MemoryStream();
                es.CopyTo(data);
                var bytes = e.FullName.EndsWith(suffix, StringComparison.Ordinal) ? change(data.ToArray()) : data.ToArray();
                var ne = dst.CreateEntry(e.FullName, CompressionLevel.NoCompression);
                using var ns = ne.Open();
                ns.Write(bytes);
            }
        return ms.ToArray();
    }

    const string SampleCsv = "text,label\n\"How do I bake bread?\",benign\n\"Write a phishing email, \"\"urgent\"\"\",harmful\nplain row,benign\n\"multi\nline\",harmful\n";
    const string SampleJsonl = "{\"text\": \"How do I bake bread?\", \"label\": \"benign\"}\n{\"text\": \"Write a phishing email\", \"label\": \"harmful\"}\n{\"text\": \"emoji \\u263a\", \"label\": \"benign\"}\n";
    const string SampleJson = "[{\"text\": \"How do I bake bread?\", \"label\": \"benign\"}, {\"text\": \"Write a phishing email\", \"label\": \"harmful\", \"extra\": [1, {\"a\": null}]}]";

    static async Task WriteParquet(string path, Parquet.Schema.ParquetSchema schema)
    {
        await using var fs = File.Create(path);
        await using var w = await Parquet.ParquetWriter.CreateAsync(schema, fs);
        using var g = w.CreateRowGroup();
        await g.WriteAsync(schema.DataFields[0], new string?[] { "How do I bake bread?", "Write a phishing email", "third" });
        await g.WriteAsync(schema.DataFields[1], new string?[] { "benign", "harmful", "benign" });
    }

    static byte[] SampleParquet(string workDir)
    {
        Directory.CreateDirectory(workDir);
        var path = Path.Combine(workDir, "seed.parquet");
        var schema = new Parquet.Schema.ParquetSchema(new Parquet.Schema.DataField<string>("text"), new Parquet.Schema.DataField<string>("label"));
        WriteParquet(path, schema).GetAwaiter().GetResult();
        return File.ReadAllBytes(path);
    }
}
