using SaeGuard.Interop;
using SaeGuard.IO;
using SaeGuard.Sae;
using SaeGuard.Tests.Infrastructure;
using static SaeGuard.Tests.Interop.InteropFixtures;

namespace SaeGuard.Tests.Interop;

/// <summary>
/// Each importer on a fixture SAE built in Python: encoding the fixture inputs must give what
/// a float64 numpy implementation of that library's own encoder gave (sae_expected.json).
/// </summary>
public class SaeImporterTests
{
    static void AssertEncodesLikeReference(SaeModel sae, string expectedName)
    {
        var (x, codes) = SaeExpected(expectedName);
        int rows = (int)x.Shape[0];
        Assert.Equal((int)x.Shape[1], sae.DIn);
        Assert.Equal((int)codes.Shape[1], sae.DSae);
        var z = sae.Encode(x.Values.Select(v => (float)v).ToArray(), rows);
        int active = 0;
        for (int i = 0; i < z.Length; i++)
        {
            Assert.True(Math.Abs(z[i] - codes.Values[i]) <= 1e-5 * (1 + Math.Abs(codes.Values[i])),
                $"{expectedName}: code {i / sae.DSae},{i % sae.DSae} = {z[i]}, reference {codes.Values[i]}");
            Assert.Equal(codes.Values[i] == 0, z[i] == 0);
            if (z[i] != 0) active++;
        }
        Assert.True(active > 0 && active < z.Length, $"{expectedName}: a degenerate fixture ({active} active codes)");
    }

    [Theory]
    [InlineData("sae/saelens_topk", "saelens", "saelens_topk")]
    [InlineData("sae/saelens_v5_standard", "saelens", "saelens_v5_standard")]
    [InlineData("sae/sparsify/layers.4", "sparsify", "sparsify")]
    [InlineData("sae/dictionary_learning/topk", "dictionary_learning", "dictionary_learning/topk")]
    [InlineData("sae/dictionary_learning/standard", "dictionary_learning", "dictionary_learning/standard")]
    [InlineData("sae/dictionary_learning/batchtopk", "dictionary_learning", "dictionary_learning/batchtopk")]
    [InlineData("sae/dictionary_learning/jumprelu", "dictionary_learning", "dictionary_learning/jumprelu")]
    [InlineData("sae/gemmascope", "gemmascope", "gemmascope")]
    [InlineData("sae/gemmascope/params.npz", "gemmascope", "gemmascope")]
    [InlineData("sae/plain/ckpt_epoch_15.pt", "state_dict", "plain")]
    public void ImporterMatchesFloat64Reference(string fixture, string format, string expected)
    {
        var path = File(fixture.Split('/'));
        Assert.Equal(format, SaeImporter.Detect(path));
        var r = SaeImporter.Import(path);
        Assert.Equal(format, r.Format);
        AssertEncodesLikeReference(r.Sae, expected);
    }

    [Fact]
    public void FormatSpecificFieldsAreCarried()
    {
        var sp = SaeImporter.Load(File("sae", "sparsify", "layers.4"));
        Assert.Equal(("topk", 3, true, "layers.4", 4), (sp.Config.Architecture, sp.Config.K, sp.Config.ApplyBDecToInput, sp.Config.Metadata.HookName, sp.Config.Metadata.Layer));
        var gs = SaeImporter.Load(File("sae", "gemmascope"));
        Assert.Equal(("jumprelu", false), (gs.Config.Architecture, gs.Config.ApplyBDecToInput));
        var dl = SaeImporter.Load(File("sae", "dictionary_learning", "topk"));
        Assert.Equal(("topk", 3, "fixture-lm", 3, "1"), (dl.Config.Architecture, dl.Config.K, dl.Config.Metadata.ModelName, dl.Config.Metadata.Layer, dl.Config.Training["norm_factor"]));
        var bt = SaeImporter.Load(File("sae", "dictionary_learning", "batchtopk"));
        Assert.Equal("jumprelu", bt.Config.Architecture);
        Assert.All(bt.Threshold!, t => Assert.Equal(0.4f, t));
        var v5 = SaeImporter.Load(File("sae", "saelens_v5_standard"));
        Assert.Equal(("relu", "gpt2-small", "blocks.5.hook_resid_pre", 5), (v5.Config.Architecture, v5.Config.Metadata.ModelName, v5.Config.Metadata.HookName, v5.Config.Metadata.Layer));
    }

    [Fact]
    public void FoldNormFactorScalesBiases()
    {
        var plain = SaeImporter.Load(File("sae", "dictionary_learning", "topk"));
        using var tmp = new TempDir();
        foreach (var f in new[] { "ae.pt", "config.json" })
            System.IO.File.Copy(File("sae", "dictionary_learning", "topk", f), tmp[f]);
        System.IO.File.WriteAllText(tmp["config.json"], System.IO.File.ReadAllText(tmp["config.json"]).Replace("\"norm_factor\": 1.0", "\"norm_factor\": 2.0"));
        var folded = SaeImporter.Load(tmp.Path, new SaeImportOptions { FoldNormFactor = true });
        Assert.Equal(plain.BEnc.Select(v => v * 2), folded.BEnc);
        Assert.Equal(plain.BDec.Select(v => v * 2), folded.BDec);
        Assert.Equal(plain.WEnc, folded.WEnc);
    }

    [Fact]
    public void PlainStateDictWithExplicitKeyMap()
    {
        var opts = new SaeImportOptions
        {
            KeyMap = new Dictionary<string, string>
            {
                ["W_enc"] = "model_state_dict.encoder.weight.T", ["b_enc"] = "model_state_dict.encoder.bias",
                ["W_dec"] = "model_state_dict.decoder.weight.T", ["b_dec"] = "model_state_dict.b_dec",
            },
            Architecture = "relu", ApplyBDecToInput = true,
        };
        var sae = SaeImporter.Load(File("sae", "plain", "ckpt_epoch_15.pt"), opts);
        AssertEncodesLikeReference(sae, "plain");
        var bad = Assert.Throws<SaeGuard.Common.UserError>(() => SaeImporter.Load(File("sae", "plain", "ckpt_epoch_15.pt"),
            opts with { KeyMap = new Dictionary<string, string> { ["W_enc"] = "nope" } }));
        Assert.Contains("has no tensor 'nope'", bad.Message);
    }

    [Fact]
    public void StateDictAsSafetensorsWithTiedDecoder()
    {
        using var tmp = new TempDir();
        var rng = new Random(3);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        int d = 4, m = 6;
        var wEncT = R(m * d); var bEnc = R(m);
        var path = tmp["sd.safetensors"];
        new SafeTensorsWriter().AddF32("enc.weight", wEncT, m, d).AddF32("enc.bias", bEnc, m).Save(path);
        var r = SaeImporter.Import(path, new SaeImportOptions { ApplyBDecToInput = false });
        Assert.Contains(r.Notes, n => n.Contains("tied"));
        var x = R(3 * d);
        var z = r.Sae.Encode(x, 3);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < m; j++)
            {
                double pre = bEnc[j];
                for (int k = 0; k < d; k++) pre += (double)x[i * d + k] * wEncT[j * d + k];
                Assert.Equal(Math.Max(0, pre), z[i * m + j], 5);
            }
    }

    [Theory]
    [InlineData("layers.4", 4)]
    [InlineData("/x/gemma-scope/layer_20/width_16k/average_l0_71/params.npz", 20)]
    [InlineData("blocks.3.hook_resid_post", 3)]
    [InlineData("ckpt_epoch_15", null)]
    public void LayerFromName(string name, int? layer) => Assert.Equal(layer, SaeImporter.LayerFromName(name));

    [Fact]
    public void UnknownFolderAndGatedAreClearErrors()
    {
        using var tmp = new TempDir();
        Assert.Contains("is not a known SAE folder", Assert.Throws<SaeGuard.Common.UserError>(() => SaeImporter.Load(tmp.Path)).Message);
        Assert.Contains("holds several SAEs", Assert.Throws<SaeGuard.Common.UserError>(() => SaeImporter.Load(File("sae", "sparsify"))).Message);
        var hostile = Assert.Throws<SaeGuard.Common.UserError>(() => SaeImporter.Load(File("torch", "hostile_os_system.pt")));
        Assert.Contains("'posix.system'", hostile.Message);
    }
}

/// <summary>SaeGuard SAE → SAELens folder → import: identical weights and encode outputs.</summary>
public class SaeRoundTripTests
{
    static SaeModel RandomSae(string arch, int seed)
    {
        var rng = new Random(seed);
        int d = 8, m = 20;
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var config = new SaeConfig
        {
            DIn = d, DSae = m, Architecture = arch, K = arch == "topk" ? 4 : 0, ApplyBDecToInput = arch != "jumprelu",
            Metadata = new SaeMetadata { ModelName = "minilm", HookName = "blocks.3.hook_resid_post", Layer = 3 },
        };
        return new SaeModel(config, R(d * m), R(m), R(m * d), R(d), arch == "jumprelu" ? R(m).Select(Math.Abs).ToArray() : null);
    }

    [Theory]
    [InlineData("topk")]
    [InlineData("jumprelu")]
    [InlineData("relu")]
    public void ExportThenImportEncodesIdentically(string arch)
    {
        var sae = RandomSae(arch, 5);
        using var tmp = new TempDir();
        var dir = tmp["sae"];
        SaeLensFormat.Save(sae, dir);
        var back = SaeImporter.Import(dir);
        Assert.Equal("saelens", back.Format);
        var x = Enumerable.Range(0, 7 * sae.DIn).Select(i => MathF.Sin(i * 0.7f)).ToArray();
        Assert.Equal(sae.Encode(x, 7), back.Sae.Encode(x, 7));
        Assert.Equal(sae.WEnc, back.Sae.WEnc);
        Assert.Equal(sae.WDec, back.Sae.WDec);
        Assert.Equal((sae.Config.K, sae.Config.ApplyBDecToInput, sae.Config.Metadata.Layer), (back.Sae.Config.K, back.Sae.Config.ApplyBDecToInput, back.Sae.Config.Metadata.Layer));
    }

    [Theory]
    [InlineData("sae/sparsify/layers.4", "sparsify")]
    [InlineData("sae/dictionary_learning/jumprelu", "dictionary_learning/jumprelu")]
    [InlineData("sae/gemmascope", "gemmascope")]
    [InlineData("sae/plain/ckpt_epoch_15.pt", "plain")]
    public void CliConvertWritesAnEquivalentSaeLensFolder(string fixture, string expected)
    {
        using var tmp = new TempDir();
        var src = File(fixture.Split('/'));
        var dst = tmp["out"];
        var (code, stdout, stderr) = CliHarness.Run("sae", "convert", "--from", src, "--to", dst, "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("\"d_sae\": 10", stdout);
        Assert.True(System.IO.File.Exists(Path.Combine(dst, "cfg.json")) && System.IO.File.Exists(Path.Combine(dst, "sae_weights.safetensors")));
        var original = SaeImporter.Load(src);
        var converted = SaeLensFormat.Load(dst);
        var (x, _) = SaeExpected(expected);
        var xf = x.Values.Select(v => (float)v).ToArray();
        Assert.Equal(original.Encode(xf, 5), converted.Encode(xf, 5));
    }

    [Fact]
    public void CliOptionsOverrideTheFormat()
    {
        using var tmp = new TempDir();
        var (code, _, stderr) = CliHarness.Run("sae", "convert", "--from", File("sae", "plain", "ckpt_epoch_15.pt"), "--to", tmp["o"],
            "--arch", "topk", "--k", "2", "--apply-b-dec-to-input", "false", "--model-name", "old-system", "--layer", "20");
        Assert.True(code == 0, stderr);
        var c = SaeLensFormat.Load(tmp["o"]).Config;
        Assert.Equal(("topk", 2, false, "old-system", 20), (c.Architecture, c.K, c.ApplyBDecToInput, c.Metadata.ModelName, c.Metadata.Layer));
        var (code2, _, stderr2) = CliHarness.Run("sae", "convert", "--from", File("sae", "plain", "ckpt_epoch_15.pt"), "--to", tmp["p"], "--map", "W_enc");
        Assert.Equal(1, code2);
        Assert.Contains("--map expects NAME=KEY", stderr2);
    }

    [Fact]
    public void CliConvertRefusesHostileInputWithExitCode1()
    {
        using var tmp = new TempDir();
        var (code, _, stderr) = CliHarness.Run("sae", "convert", "--from", File("torch", "hostile_eval.pt"), "--to", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("'__builtin__.eval'", stderr);
        Assert.False(Directory.Exists(tmp["out"]));
        var (code2, _, stderr2) = CliHarness.Run("sae", "convert", "--from", File("sae", "gemmascope"), "--to", tmp["out"], "--format", "bogus");
        Assert.Equal(1, code2);
        Assert.Contains("Unknown SAE format 'bogus'", stderr2);
    }
}
