using System.Text.Json;
using SaeGuard.Eval;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Eval;

public class KSparseProbingTests
{
    sealed record Fixture(float[][] X, int[] Y, bool[] Train, int[] K, int[] Ranking, double[] Auroc);

    static Fixture Load() => JsonSerializer.Deserialize<Fixture>(
        File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "SaeGuard.Tests", "Fixtures", "eval", "ksparse.json")),
        new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;

    [Fact]
    public void K_sparse_probing_equals_scikit_learn()
    {
        var f = Load();
        var (aurocs, ranking) = KSparseProbing.Run(f.X, f.Y, f.Train, f.K, 1.0);
        Assert.Equal(f.Ranking, ranking);
        for (int i = 0; i < f.K.Length; i++)
            Assert.True(Math.Abs(f.Auroc[i] - aurocs[i]) <= 1e-4, $"k={f.K[i]}: {aurocs[i]} vs scikit-learn {f.Auroc[i]}");
    }

    [Fact]
    public void Stratified_split_holds_out_a_share_of_each_class()
    {
        var y = Enumerable.Range(0, 50).Select(i => i < 20 ? 1 : 0).ToArray();
        var train = KSparseProbing.TrainMask(y, 0.2, 3);
        Assert.Equal(4, Enumerable.Range(0, 50).Count(i => y[i] == 1 && !train[i]));
        Assert.Equal(6, Enumerable.Range(0, 50).Count(i => y[i] == 0 && !train[i]));
        Assert.Equal(train, KSparseProbing.TrainMask(y, 0.2, 3));
    }
}
