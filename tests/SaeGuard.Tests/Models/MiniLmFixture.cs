using SaeGuard.Models;

namespace SaeGuard.Tests.Models;

/// <summary>One built-in model per test class: loading the 90 MB ONNX graph takes a second.</summary>
public sealed class MiniLmFixture : IDisposable
{
    readonly Dictionary<int, OnnxTransformerSource> _byLayer = new();

    public OnnxTransformerSource Layer(int layer)
    {
        lock (_byLayer)
        {
            if (!_byLayer.TryGetValue(layer, out var s)) _byLayer[layer] = s = BuiltInModels.MiniLm(layer, threads: 2);
            return s;
        }
    }

    public void Dispose()
    {
        foreach (var s in _byLayer.Values) s.Dispose();
    }
}
