using SaeGuard.IO.Fuzzing;

namespace SaeGuard.Gguf.Testing;

/// <summary>The GGUF header parser as a fuzz target: a tiny Llama as the seed; the digest covers metadata and the tensor table.</summary>
public static class GgufFuzzTarget
{
    public static FuzzTarget Create(string workDir)
    {
        Directory.CreateDirectory(workDir);
        var seed = Path.Combine(workDir, "seed.gguf");
        TinyLlama.Write(seed);
        return new FuzzTarget("gguf", ".gguf", new[] { File.ReadAllBytes(seed) }, p =>
        {
            var g = GgufFile.Read(p);
            return string.Join(";", g.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Show(kv.Value)}"))
                   + "|" + string.Join(";", g.Tensors.Select(t => $"{t.Name}:{t.Type}[{string.Join(",", t.Shape)}]@{t.Offset}"));
        });
    }

    static string Show(object v) => v is GgufArray a ? $"{a.ElementType}x{a.Count}:{(a.Values == null ? "" : string.Join(",", a.Values))}" : v.ToString() ?? "";
}
