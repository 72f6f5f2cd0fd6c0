using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Serving;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Serving;

/// <summary>
/// One real guard for the serving tests: built-in MiniLM layer 4, a k-means dictionary TopK SAE
/// (256 latents, k = 8) over the training prompts' tokens, and a logistic head fitted on
/// AdvBench (harmful) vs Alpaca (benign) prompts from ../shared/data; 250 + 250 prompts train it,
/// 100 + 100 others are held out. Also saved as a guard folder for the CLI and browser tests.
/// </summary>
public sealed class GuardFixture : IDisposable
{
    public const int TrainPerClass = 250, HeldOutPerClass = 100;

    readonly TempDir _dir = new();
    public OnnxTransformerSource Source { get; }
    public BuiltGuard Guard { get; }
    public SaeGuardScorer Scorer => Guard.Scorer;
    public FeatureCatalog Catalog => Guard.Catalog;
    public List<DocRecord> Train { get; }
    public List<DocRecord> HeldOut { get; }
    public string GuardDir { get; }

    public GuardFixture()
    {
        var harmful = CorpusReader.Read(TestPaths.SharedData("advbench", "harmful_behaviors.csv"));
        var benign = CorpusReader.Read(TestPaths.SharedData("refusal_direction_alpaca", "harmless_train.json")).Take(3000);
        (Train, HeldOut) = ReferenceGuard.Split(harmful, benign, TrainPerClass, HeldOutPerClass, seed: 0);
        Source = BuiltInModels.MiniLm(BuiltInModels.MiniLmDefaultLayer, threads: 2);
        Guard = ReferenceGuard.Build(Source, Train, HeldOut);
        GuardDir = _dir["guard"];
        GuardFolder.Save(Guard, GuardDir);
    }

    public IEnumerable<DocRecord> HeldOutWith(string label) => HeldOut.Where(d => d.Label == label);

    public void Dispose()
    {
        Source.Dispose();
        _dir.Dispose();
    }
}

[CollectionDefinition("Guard")]
public sealed class GuardCollection : ICollectionFixture<GuardFixture> { }
