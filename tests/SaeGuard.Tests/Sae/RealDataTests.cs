using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SaeGuard.Tests.Sae;

/// <summary>MiniLM layer-4 activations of WikiText + Alpaca instructions (about 80k tokens), extracted once per class.</summary>
public sealed class MiniLmActsFixture : IDisposable
{
    readonly TempDir _tmp = new();
    public ActivationDump Acts { get; }
    public double ExtractSeconds { get; }

    public MiniLmActsFixture()
    {
        var wiki = CorpusReader.Read(TestPaths.SharedData("wikitext", "wiki.test.raw")).Where(d => d.Text.Length > 200).Take(420);
        var alpaca = CorpusReader.Read(TestPaths.SharedData("refusal_direction_alpaca", "harmless_train.json")).Take(2500);
        var docs = wiki.Concat(alpaca).ToList();
        using var src = BuiltInModels.MiniLm(4);
        var s = Extractor.Run(src, docs, _tmp["acts"], new ExtractOptions { MaxTokens = 80_000 });
        ExtractSeconds = s.Seconds;
        Acts = ActivationDump.Open(_tmp["acts"]);
    }

    public void Dispose() => _tmp.Dispose();
}

[Trait("Category", "Slow")]
public class RealDataTests(MiniLmActsFixture f, ITestOutputHelper log) : IClassFixture<MiniLmActsFixture>
{
    [Fact]
    public void TopK_on_MiniLM_layer4_is_faithful_and_sparse()
    {
        Assert.Equal(384, f.Acts.D);
        using var tmp = new TempDir();
        var r = SaeTrainer.Run(f.Acts, new SaeTrainOptions { Arch = "topk", Expansion = 8, K = 32, Tokens = 1_500_000, BatchSize = 2048 }, tmp["sae"]);
        var m = r.Final;
        log.WriteLine($"{f.Acts.NTokens} tokens extracted in {f.ExtractSeconds:F0}s; trained {r.TokensSeen:N0} tokens in {r.Seconds:F0}s ({m.TokensPerS:N0} tok/s, GEMM {r.GemmSeconds:F0}s): " +
                      $"held-out EV {m.ExplainedVariance:F4} nmse {m.Nmse:F4} L0 {m.L0:F1} dead {m.DeadFraction:P2} max freq {m.MaxFeatureFrequency:P1} >10% {m.FreqOver10Pct:P2} l2 {m.L2Ratio:F3} n {m.MeasuredTokens}");
        Assert.Equal("heldout", m.Split);
        Assert.True(m.MeasuredTokens > 1000);
        Assert.True(m.ExplainedVariance >= 0.8, $"EV {m.ExplainedVariance}");
        Assert.True(m.DeadFraction <= 0.05, $"dead {m.DeadFraction}");
        Assert.Equal(0, m.FeaturesOver50Pct);
        Assert.True(m.MaxFeatureFrequency <= 0.5);
        Assert.Equal(32.0, m.L0, 0.5);
        Assert.Empty(r.Warnings);
    }
}
