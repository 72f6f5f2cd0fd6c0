using SaeGuard.Common;

namespace SaeGuard.Tests.Common;

public class ProgressSinkTests
{
    sealed class Collect : IProgress<ProgressUpdate>
    {
        public List<ProgressUpdate> Updates { get; } = new();
        public void Report(ProgressUpdate value) { lock (Updates) Updates.Add(value); }
    }

    [Fact]
    public void A_scoped_sink_gets_the_bars_updates_instead_of_stderr()
    {
        var sink = new Collect();
        using (ProgressSink.Use(sink))
        {
            Assert.Same(sink, ProgressSink.Current);
            using var bar = new ProgressBar("extract", 10, "tokens");
            for (int i = 0; i < 10; i++) bar.Advance(1, rateUnits: 3, extra: "loss 0.5");
        }
        Assert.NotSame(sink, ProgressSink.Current);
        Assert.NotEmpty(sink.Updates);
        var last = sink.Updates[^1];
        Assert.True(last.Final);
        Assert.Equal(1, sink.Updates.Count(u => u.Final));
        Assert.Equal(("extract", 10L, 10L, "tokens", "loss 0.5"), (last.Label, last.Done, last.Total, last.Unit, last.Detail));
        Assert.Equal(1.0, last.Fraction);
        Assert.True(last.Rate > 0);
        // reaching the total is reported at once, not only at the end
        Assert.Contains(sink.Updates, u => !u.Final && u.Done == 10);
        Assert.Null(new ProgressUpdate("x", 3, 0, "items", 0, TimeSpan.Zero, "", false).Fraction);
    }

    [Fact]
    public async Task Scopes_nest_and_stay_in_their_async_flow()
    {
        var outer = new Collect();
        var inner = new Collect();
        using (ProgressSink.Use(outer))
        {
            var other = Task.Run(async () =>
            {
                using (ProgressSink.Use(inner))
                {
                    await Task.Yield();
                    using var b = new ProgressBar("inner", 1);
                    b.Advance(1);
                }
            });
            await other;
            using (var b = new ProgressBar("outer", 2)) b.Advance(2);
        }
        Assert.All(inner.Updates, u => Assert.Equal("inner", u.Label));
        Assert.All(outer.Updates, u => Assert.Equal("outer", u.Label));
        Assert.NotEmpty(inner.Updates);
        Assert.NotEmpty(outer.Updates);
    }
}
