using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Probes;
using SaeGuard.Sae;
using SaeGuard.Serving;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Probes;

namespace SaeGuard.Tests.Serving;

/// <summary>
/// The one guard every serving test uses, made the way a user makes it: AdvBench (harmful) and
/// Alpaca (benign) prompts from ../shared/data extracted with MiniLM layer 4, an exemplar TopK SAE
/// (256 latents, k = 16; <see cref="TestSaes.Exemplar"/>), <see cref="ProbeTrainer"/> on the
/// dump, then <see cref="GuardLoader.Load"/> on the probe folder. 200 + 200 prompts train it;
/// 100 + 100 others are held out.
/// </summary>
public sealed class GuardFixture : IDisposable
{
    public const int TrainPerClass = 200, HeldOutPerClass = 100, DSae = 256, K = 16;

    readonly TempDir _dir = new();
    public string Acts => _dir["acts"];
    public string SaeDir => _dir["sae"];
    public string ProbeDir => _dir["probe"];
    /// <summary>The model at the probe's layer, for float64 references.</summary>
    public OnnxTransformerSource Source { get; }
    public LoadedGuard Loaded { get; }
    public ProbeGuard Scorer => (ProbeGuard)Loaded.Scorer;
    public GuardClassifier Classifier => Scorer.Classifier;
    public FeatureCatalog Catalog => Loaded.Catalog;
    public ProbeMetricsFile Metrics { get; }
    public List<DocRecord> Train { get; }
    public List<DocRecord> HeldOut { get; }

    public GuardFixture()
    {
        var harmful = CorpusReader.Read(TestPaths.SharedData("advbench", "harmful_behaviors.csv"), new CorpusReadOptions { FixedLabel = Labels.Harmful })
            .Take(TrainPerClass + HeldOutPerClass).ToList();
        var benign = CorpusReader.Read(TestPaths.SharedData("refusal_direction_alpaca", "harmless_train.json"), new CorpusReadOptions { FixedLabel = Labels.Benign })
            .Take(TrainPerClass + HeldOutPerClass).ToList();
        Train = harmful.Take(TrainPerClass).Concat(benign.Take(TrainPerClass)).ToList();
        HeldOut = harmful.Skip(TrainPerClass).Concat(benign.Skip(TrainPerClass)).ToList();
        Source = BuiltInModels.MiniLm(BuiltInModels.MiniLmDefaultLayer, threads: 2);
        Extractor.Run(Source, Train, Acts);
        SaeLensFormat.Save(TestSaes.Exemplar(ActivationDump.Open(Acts), DSae, K, seed: 1), SaeDir);
        Metrics = ProbeTrainer.Run(new ProbeOptions { Acts = new[] { Acts }, Sae = SaeDir, Out = ProbeDir }, _ => { });
        Loaded = GuardLoader.Load(ProbeDir, new GuardLoadOptions { Threads = 2 });
    }

    public IEnumerable<DocRecord> HeldOutWith(string label) => HeldOut.Where(d => d.Label == label);

    public void Dispose()
    {
        Loaded.Dispose();
        Source.Dispose();
        _dir.Dispose();
    }
}

[CollectionDefinition("Guard")]
public sealed class GuardCollection : ICollectionFixture<GuardFixture> { }
