using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Interop;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Sae;

/// <summary>cfg.json as SAELens writes it: numbers as numbers, sae_lens_version, context_size and
/// prepend_bos filled (v6 metadata and v5 top level), and everything read back as written.</summary>
public class SaeLensCfgTests
{
    static SaeModel Small(SaeMetadata meta, Dictionary<string, string> training)
    {
        var sae = SaeTrainer.Train(SaeTestDumps.Planted(600, 8, 16, 3), 8, new SaeTrainOptions { Arch = "topk", Latents = 16, K = 2, Tokens = 2000, BatchSize = 200 });
        return new SaeModel(sae.Config with { Metadata = meta, Training = training }, sae.WEnc, sae.BEnc, sae.WDec, sae.BDec, sae.Threshold);
    }

    [Fact]
    public void Our_cfg_has_typed_numbers_and_the_SAELens_fields_and_reads_back_the_same()
    {
        var training = new Dictionary<string, string>
        {
            ["lr"] = "0.0009237604307034014", ["seed"] = "1", ["trained_as"] = "topk", ["special_tokens_included"] = "false",
            ["l1"] = "-2.5e-3", ["label"] = "01", ["nan"] = "NaN",
        };
        var meta = new SaeMetadata { ModelName = "minilm", HookName = "blocks.4.hook_resid_post", Layer = 4, TrainingTokens = 493_568, ContextSize = 128, PrependBos = true };
        using var tmp = new TempDir();
        SaeLensFormat.Save(Small(meta, training), tmp["sae"]);

        var cfg = JsonNode.Parse(File.ReadAllText(tmp["sae/cfg.json"]))!;
        var m = cfg["metadata"]!;
        Assert.Equal("6.0.0", m["sae_lens_version"]!.GetValue<string>());
        Assert.Equal(JsonValueKind.Number, m["context_size"]!.GetValueKind());
        Assert.Equal(128, m["context_size"]!.GetValue<int>());
        Assert.True(m["prepend_bos"]!.GetValue<bool>());
        Assert.Equal(128, cfg["context_size"]!.GetValue<int>()); // SAELens 5 reads the top level
        Assert.True(cfg["prepend_bos"]!.GetValue<bool>());
        Assert.Equal(493_568, m["training_tokens"]!.GetValue<long>());
        var t = cfg["saeguard_training"]!;
        Assert.Equal(JsonValueKind.Number, t["lr"]!.GetValueKind());
        Assert.Equal("0.0009237604307034014", t["lr"]!.ToJsonString()); // the digits as written
        Assert.Equal(JsonValueKind.Number, t["seed"]!.GetValueKind());
        Assert.Equal(JsonValueKind.Number, t["l1"]!.GetValueKind());
        Assert.Equal(JsonValueKind.False, t["special_tokens_included"]!.GetValueKind());
        Assert.Equal(JsonValueKind.String, t["trained_as"]!.GetValueKind());
        Assert.Equal(JsonValueKind.String, t["label"]!.GetValueKind()); // "01" is no JSON number
        Assert.Equal(JsonValueKind.String, t["nan"]!.GetValueKind());

        var back = SaeLensFormat.Load(tmp["sae"]);
        Assert.Equal(training.OrderBy(kv => kv.Key), back.Config.Training.OrderBy(kv => kv.Key));
        Assert.Equal(meta with { ModelSha256 = null }, back.Config.Metadata with { ModelSha256 = null, TrainActivationNorm = null, Dataset = null });
        // the importer (saeguard import-sae) reads our folder the same way
        var imported = SaeImporter.Load(tmp["sae"]);
        Assert.Equal(128, imported.Config.Metadata.ContextSize);
        Assert.Equal(true, imported.Config.Metadata.PrependBos);
    }

    [Fact]
    public void Older_files_still_load_SAELens_v5_and_v6_and_our_string_valued_cfg()
    {
        var v5 = SaeLensFormat.Load(Path.Combine(TestPaths.RepoRoot, "tests/SaeGuard.Tests/Fixtures/interop/sae/saelens_v5_standard"));
        Assert.Equal(128, v5.Config.Metadata.ContextSize);
        Assert.Equal(true, v5.Config.Metadata.PrependBos);
        var v6 = SaeLensFormat.Load(Path.Combine(TestPaths.RepoRoot, "tests/SaeGuard.Tests/Fixtures/interop/sae/saelens_topk"));
        Assert.Null(v6.Config.Metadata.ContextSize);
        Assert.Null(v6.Config.Metadata.PrependBos);
        // the built-in guard's cfg.json predates typed values: strings still read as the same text
        var builtIn = SaeLensFormat.Load(Path.Combine(TestPaths.RepoRoot, "src/SaeGuard/Probes/DefaultGuard/sae"));
        Assert.Equal("0.0009237604307034014", builtIn.Config.Training["lr"]);
        Assert.Equal("false", builtIn.Config.Training["special_tokens_included"]);
        Assert.Equal(1_329_152, builtIn.Config.Metadata.TrainingTokens); // the shipped guard's SAE (docs/GUARD.md)
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Training_on_a_dump_fills_context_size_and_prepend_bos(bool startsSpecial, bool specialKept)
    {
        using var tmp = new TempDir();
        const int d = 8, perDoc = 20;
        var rows = SaeTestDumps.Planted(400, d, 16, 5);
        using (var w = new DumpWriter(tmp["acts"], new DumpMeta { Model = "m", Layer = 2, MaxLength = 64, SpecialTokensIncluded = specialKept }, d, false, 0, 64L << 20))
        {
            for (int doc = 0; doc < 400 / perDoc; doc++)
            {
                w.AddDoc(new DocRecord { Id = doc, Text = $"doc {doc}", Source = "t" });
                int skip = startsSpecial && !specialKept ? 1 : 0; // a dropped special token leaves its position empty
                int c = perDoc - skip;
                var special = new bool[c];
                if (startsSpecial && specialKept) special[0] = true;
                w.AddRows(doc, rows.AsSpan(doc * perDoc * d, c * d), Enumerable.Range(0, c).ToArray(), special, firstPosition: skip);
            }
            w.Complete(i => $"tok{i}", 100);
        }
        var dump = ActivationDump.Open(tmp["acts"]);
        var meta = SaeTrainer.MetadataOf(dump);
        Assert.Equal(64, meta.ContextSize);
        Assert.Equal(startsSpecial, meta.PrependBos);

        SaeTrainer.Run(dump, new SaeTrainOptions { Arch = "topk", Latents = 16, K = 2, Tokens = 2000, BatchSize = 100 }, tmp["sae"]);
        var cfg = JsonNode.Parse(File.ReadAllText(tmp["sae/cfg.json"]))!["metadata"]!;
        Assert.Equal(64, cfg["context_size"]!.GetValue<int>());
        Assert.Equal(startsSpecial, cfg["prepend_bos"]!.GetValue<bool>());
    }
}
