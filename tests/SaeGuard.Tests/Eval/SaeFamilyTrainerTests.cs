using SaeGuard.Activations;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Sae;

namespace SaeGuard.Tests.Eval;

public class SaeFamilyTrainerTests
{
    static readonly float[] X = SaeTestDumps.Planted(3000, 32, 64, 43);

    static void AssertSameWeights(SaeModel a, SaeModel b, string what)
    {
        Assert.Equal(a.WEnc, b.WEnc);
        Assert.Equal(a.BEnc, b.BEnc);
        Assert.Equal(a.WDec, b.WDec);
        Assert.Equal(a.BDec, b.BDec);
        Assert.Equal(a.Threshold, b.Threshold);
        Assert.True(a.Config.K == b.Config.K && a.Config.Architecture == b.Config.Architecture, what);
    }

    [Theory]
    [InlineData("topk")]
    [InlineData("jumprelu")]
    public void Each_member_gets_the_weights_it_gets_when_trained_alone(string arch)
    {
        var baseOptions = new SaeTrainOptions { Arch = arch, Latents = 96, Tokens = 12_000, BatchSize = 256, Seed = 9, Threads = 2, LogEvery = 5 };
        var members = arch == "topk"
            ? new[] { 2, 4, 8 }.Select(k => baseOptions with { K = k }).ToList()
            : new[] { 0.3, 1.0, 3.0 }.Select(c => baseOptions with { L1 = c }).ToList();
        var family = SaeFamilyTrainer.Run(() => new MemoryTrainData(X, 32), members, members.Select(_ => (string?)null).ToList(), new SaeMetadata());
        for (int i = 0; i < members.Count; i++)
        {
            var alone = SaeTrainer.Run(new MemoryTrainData(X, 32), members[i]);
            AssertSameWeights(alone.Model, family[i].Model, $"member {i}");
            Assert.Equal(alone.Final.ExplainedVariance, family[i].Final.ExplainedVariance);
        }
        Assert.NotEqual(family[0].Model.WDec, family[1].Model.WDec);
    }

    [Fact]
    public void Train_cli_with_a_list_of_k_writes_one_SAELens_folder_per_member()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 32, rowsPerDoc: 30, specialFirst: true);
        var (code, _, err) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["fam"], "--latents", "64", "--k", "4,8",
            "--tokens", "8000", "--batch", "256", "--seed", "3", "--threads", "2");
        Assert.True(code == 0, err);
        var (code1, _, err1) = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["k8"], "--latents", "64", "--k", "8",
            "--tokens", "8000", "--batch", "256", "--seed", "3", "--threads", "2");
        Assert.True(code1 == 0, err1);
        var k4 = SaeLensFormat.Load(tmp["fam/k4"]);
        Assert.Equal(4, k4.Config.K);
        AssertSameWeights(SaeLensFormat.Load(tmp["k8"]), SaeLensFormat.Load(tmp["fam/k8"]), "k8");
        Assert.True(File.Exists(tmp["fam/k8/metrics.jsonl"]));
        var bad = CliHarness.Run("train", "--acts", tmp["acts"], "--out", tmp["x"], "--k", "4,x");
        Assert.Equal(1, bad.Code);
        Assert.Contains("--k takes integers", bad.Err);
    }
}
