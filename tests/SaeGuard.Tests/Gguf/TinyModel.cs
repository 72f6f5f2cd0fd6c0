using SaeGuard.Gguf.Testing;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Gguf;

/// <summary>
/// The tiny random llama GGUF (n_embd 64, 4 layers, 4 heads, 2 KV heads, 511-token SPM vocab) that
/// the GGUF tests share: written once, deleted when the "gguf" collection ends.
/// </summary>
public sealed class TinyModelFixture : IDisposable
{
    readonly TempDir _dir = new();

    public TinyModelFixture()
    {
        Path = _dir["tiny.gguf"];
        Weights = TinyLlama.Write(Path, new TinyLlamaSpec { Seed = 7 });
        TinyModel.Current = this;
    }

    public string Path { get; }
    public LlamaWeights Weights { get; }

    public void Dispose() => _dir.Dispose();
}

[CollectionDefinition("gguf")]
public sealed class GgufCollection : ICollectionFixture<TinyModelFixture>;

/// <summary>Static access to the collection's model for helpers outside the test classes.</summary>
public static class TinyModel
{
    internal static TinyModelFixture? Current { get; set; }
    public static string Path => (Current ?? throw new InvalidOperationException("GGUF tests must be in [Collection(\"gguf\")]")).Path;
    public static LlamaWeights Weights => Current!.Weights;
}
