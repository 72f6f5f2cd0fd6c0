using SaeGuard.Gguf.Testing;

namespace SaeGuard.Tests.Gguf;

/// <summary>The tiny random llama GGUF (n_embd 64, 4 layers, 4 heads, 2 KV heads) written once per test run.</summary>
public static class TinyModel
{
    static readonly Lazy<(string Path, LlamaWeights Weights)> Model = new(() =>
    {
        var dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "saeguard-gguf-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        var path = System.IO.Path.Combine(dir, "tiny.gguf");
        return (path, TinyLlama.Write(path, new TinyLlamaSpec { Seed = 7 }));
    });

    public static string Path => Model.Value.Path;
    public static LlamaWeights Weights => Model.Value.Weights;
}
