using System.Text.Json;
using SaeGuard.IO;
using SaeGuard.Models;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Models;

/// <summary>The decoder fixtures of tests/fixtures-src/make_onnx_decoders.py and their expected hidden states.</summary>
public static class OnnxDecoderFixtures
{
    public static string Dir(params string[] parts) =>
        Path.Combine(new[] { TestPaths.RepoRoot, "tests", "SaeGuard.Tests", "Fixtures", "onnx" }.Concat(parts).ToArray());

    public sealed record Case(string Text, int[] Ids);

    /// <summary>Cases and expected [case, layer, t, d] float32 hidden states (torch float64 forward, each text alone).</summary>
    public static (List<Case> Cases, float[] Hidden, int Layers, int T, int D) Expected(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Dir(model, "expected.json")));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new Case(c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray())).ToList();
        var (data, shape) = NpyReader.ReadFloat32(Dir(model, "expected.npy"));
        return (cases, data, (int)shape[1], (int)shape[2], (int)shape[3]);
    }

    public static HfTextTokenizer Tokenizer(string name) => HfTextTokenizer.FromFile(Dir("tokenizers", name + ".tokenizer.json"));
}
