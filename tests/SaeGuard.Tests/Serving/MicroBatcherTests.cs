using SaeGuard.Server;
using SaeGuard.Serving;

namespace SaeGuard.Tests.Serving;

[Collection("Guard")]
public class MicroBatcherTests
{
    readonly GuardFixture _f;
    public MicroBatcherTests(GuardFixture f) => _f = f;

    [Fact]
    public async Task Queued_texts_share_batches_and_get_their_own_verdicts()
    {
        var texts = _f.HeldOut.Select(d => d.Text).Take(40).ToArray();
        var direct = _f.Scorer.Score(texts);
        var sizes = new List<int>();
        using var gate = new ManualResetEventSlim(false);
        using var batcher = new MicroBatcher(batch =>
        {
            gate.Wait(); // hold the first batch until every text is queued
            lock (sizes) sizes.Add(batch.Count);
            return _f.Scorer.Score(batch);
        }, maxBatch: 16, window: TimeSpan.Zero, capacity: 100);
        var tasks = texts.Select(batcher.ScoreAsync).ToArray();
        gate.Set();
        var verdicts = await Task.WhenAll(tasks);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(direct[i].Score, verdicts[i].Score, 5);
        Assert.Equal(texts.Length, sizes.Sum());
        Assert.All(sizes, s => Assert.InRange(s, 1, 16));
        // the first text may be taken alone before the rest arrive; the other 39 fill batches of 16
        Assert.True(sizes.Count <= 4, $"batches: {string.Join(",", sizes)}");
        Assert.Equal(sizes.Count, batcher.Batches);
        Assert.Equal(texts.Length, batcher.Texts);
        Assert.Equal(sizes.Max(), batcher.LargestBatch);
    }

    [Fact]
    public async Task A_failing_batch_fails_each_of_its_texts()
    {
        using var batcher = new MicroBatcher(_ => throw new InvalidOperationException("model failed"), 8, TimeSpan.Zero, 10);
        var tasks = new[] { batcher.ScoreAsync("a"), batcher.ScoreAsync("b") };
        foreach (var t in tasks)
            Assert.Equal("model failed", (await Assert.ThrowsAsync<InvalidOperationException>(() => t)).Message);
        // the worker survives the failure
        using var ok = new MicroBatcher(_f.Scorer.Score, 8, TimeSpan.Zero, 10);
        Assert.InRange((await ok.ScoreAsync("How do I make pancakes?")).Score, 0, 1);
    }

    [Fact]
    public async Task A_full_queue_refuses_more_texts()
    {
        using var gate = new ManualResetEventSlim(false);
        using var started = new ManualResetEventSlim(false);
        var batcher = new MicroBatcher(batch => { started.Set(); gate.Wait(); return _f.Scorer.Score(batch); }, 1, TimeSpan.Zero, capacity: 2);
        var first = batcher.ScoreAsync("one");   // taken by the worker, which then blocks
        started.Wait(TimeSpan.FromSeconds(30));
        var queued = new[] { batcher.ScoreAsync("two"), batcher.ScoreAsync("three") }; // fill the queue
        Assert.Throws<ServerBusyException>(() => { _ = batcher.ScoreAsync("four"); });
        gate.Set();
        await Task.WhenAll(queued.Append(first));
        batcher.Dispose();
        Assert.Equal(3, batcher.Texts);
    }
}
