using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Scale;

public class ShardPlanTests
{
    [Fact]
    public void Documents_go_to_the_shard_of_their_first_token()
    {
        // lengths 5,1,1,1,4,8 (T = 20, N = 3): starts 0,5,6,7,8,12 → ⌊3c/20⌋ = 0,0,0,1,1,1 (12·3/20 = 1.8)
        int[] lengths = { 5, 1, 1, 1, 4, 8 };
        var plans = Enumerable.Range(0, 3).Select(i => ShardPlan.Compute(lengths, new ShardSpec(i, 3))).ToList();
        Assert.Equal(new[] { (0, 3, 7L), (3, 3, 13L), (6, 0, 0L) }, plans.Select(p => (p.FirstDoc, p.Docs, p.Tokens)));
        Assert.Equal(new long[] { 7, 13, 0 }, plans[0].ShardTokens);
        // with a cap of 9 tokens the corpus is 5,1,1,1,1 (the 5th document cut, as one capped process would): starts 0,5,6,7,8 → ⌊2c/9⌋ = 0,1,1,1,1
        var capped = ShardPlan.Compute(lengths, new ShardSpec(1, 2), maxTokens: 9);
        Assert.Equal((9L, 5, 1, 4, 4L), (capped.CorpusTokens, capped.CorpusDocs, capped.FirstDoc, capped.Docs, capped.Tokens));
    }

    [Fact]
    public void Split_is_balanced_on_a_real_corpus()
    {
        // Alpaca (refusal_direction harmless_train, 18,793 prompts) tokenized by MiniLM, cut at 256 tokens
        var tok = BuiltInModels.MiniLmTokenizer();
        var docs = CorpusReader.Read(TestPaths.SharedData("refusal_direction_alpaca", "harmless_train.json"), new CorpusReadOptions { TextColumn = "instruction" })
            .Select(d => tok.Encode(d.Text, 256).Length).ToArray();
        int longest = docs.Max();
        foreach (int n in new[] { 4, 16, 64 })
        {
            var plan = ShardPlan.Compute(docs, new ShardSpec(0, n));
            double mean = (double)plan.CorpusTokens / n;
            Assert.Equal(plan.CorpusTokens, plan.ShardTokens.Sum());
            Console.WriteLine($"balance: {docs.Length:N0} Alpaca prompts, {plan.CorpusTokens:N0} MiniLM tokens, N = {n}: largest shard {plan.Imbalance:F4}× the mean, smallest {plan.ShardTokens.Min() / mean:F4}×");
            Assert.All(plan.ShardTokens, t => Assert.InRange(t, mean - longest, mean + longest));
            Assert.True(plan.Imbalance < 1 + longest / mean, $"N={n}: imbalance {plan.Imbalance}");
        }
    }
}
