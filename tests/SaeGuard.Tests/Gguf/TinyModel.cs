using SaeGuard.Gguf.Testing;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Gguf;

/// <summary>
/// The tiny random llama GGUF (n_embd 64, 4 layers, 4 heads, 2 KV heads, 511-token SPM vocab) that
/// the GGUF tests share, and one tiny model per <see cref="TinyFamily"/> (written on first use, with
/// the family's official chat template): deleted when the "gguf" collection ends.
/// </summary>
public sealed class TinyModelFixture : IDisposable
{
    readonly TempDir _dir = new();
    readonly Dictionary<TinyFamily, TinyFamilyModel> _families = new();

    public TinyModelFixture()
    {
        Path = _dir["tiny.gguf"];
        Weights = TinyLlama.Write(Path, new TinyLlamaSpec { Seed = 7 });
        TinyModel.Current = this;
    }

    public string Path { get; }
    public LlamaWeights Weights { get; }

    public TinyFamilyModel Family(TinyFamily family)
    {
        lock (_families)
        {
            if (_families.TryGetValue(family, out var m)) return m;
            var spec = TinyFamilies.Spec(family, seed: 11 + (int)family);
            if (ChatTemplateFixtures.For(family) is { } t) spec = spec with { ChatTemplate = t.Template };
            var path = _dir[$"{family.ToString().ToLowerInvariant()}.gguf"];
            m = new TinyFamilyModel(family, path, TinyLlama.Write(path, spec));
            _families[family] = m;
            return m;
        }
    }

    public void Dispose() => _dir.Dispose();
}

public sealed record TinyFamilyModel(TinyFamily Family, string Path, LlamaWeights Weights);

[CollectionDefinition("gguf")]
public sealed class GgufCollection : ICollectionFixture<TinyModelFixture>;

/// <summary>Static access to the collection's models for helpers outside the test classes.</summary>
public static class TinyModel
{
    internal static TinyModelFixture? Current { get; set; }
    static TinyModelFixture Fixture => Current ?? throw new InvalidOperationException("GGUF tests must be in [Collection(\"gguf\")]");
    public static string Path => Fixture.Path;
    public static LlamaWeights Weights => Fixture.Weights;
    public static TinyFamilyModel Family(TinyFamily family) => Fixture.Family(family);

    public static TheoryData<TinyFamily> Families => new(TinyFamilies.All);
}
