using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SaeGuard.Serving;

namespace SaeGuard.Server;

/// <summary>Thrown when the scoring queue is full.</summary>
public sealed class ServerBusyException : Exception
{
    public ServerBusyException() : base("The scoring queue is full.") { }
}

/// <summary>
/// Collects texts from concurrent requests into batches for the scorer: a worker takes every
/// text queued (up to <c>maxBatch</c>), waits up to <c>window</c> for more when the batch is not
/// full, scores the batch in one call and completes each request's task.
/// </summary>
public sealed class MicroBatcher : IDisposable
{
    sealed record Item(string Text, TaskCompletionSource<GuardVerdict> Done);

    readonly Func<IReadOnlyList<string>, IReadOnlyList<GuardVerdict>> _score;
    readonly Channel<Item> _queue;
    readonly int _maxBatch;
    readonly TimeSpan _window;
    readonly Task _worker;
    readonly ILogger? _logger;
    long _batches, _texts, _largest;

    public MicroBatcher(Func<IReadOnlyList<string>, IReadOnlyList<GuardVerdict>> score, int maxBatch, TimeSpan window, int capacity,
        ILogger<MicroBatcher>? logger = null)
    {
        _logger = logger;
        if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch));
        _score = score;
        _maxBatch = maxBatch;
        _window = window;
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(Math.Max(1, capacity)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _worker = Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    public long Batches => Interlocked.Read(ref _batches);
    public long Texts => Interlocked.Read(ref _texts);
    public long LargestBatch => Interlocked.Read(ref _largest);
    public int MaxBatch => _maxBatch;
    public TimeSpan Window => _window;

    /// <summary>Queues a text; the task completes with its verdict. Throws <see cref="ServerBusyException"/> when the queue is full.</summary>
    public Task<GuardVerdict> ScoreAsync(string text)
    {
        var item = new Item(text, new TaskCompletionSource<GuardVerdict>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(item))
        {
            if (_queue.Reader.Completion.IsCompleted) throw new ObjectDisposedException(nameof(MicroBatcher));
            throw new ServerBusyException();
        }
        return item.Done.Task;
    }

    async Task Work()
    {
        var reader = _queue.Reader;
        var batch = new List<Item>(_maxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            Drain(reader, batch);
            if (batch.Count < _maxBatch && _window > TimeSpan.Zero)
            {
                await Task.Delay(_window).ConfigureAwait(false);
                Drain(reader, batch);
            }
            if (batch.Count > 0) Run(batch);
        }
    }

    void Drain(ChannelReader<Item> reader, List<Item> batch)
    {
        while (batch.Count < _maxBatch && reader.TryRead(out var item)) batch.Add(item);
    }

    void Run(List<Item> batch)
    {
        try
        {
            var verdicts = _score(batch.Select(b => b.Text).ToArray());
            if (verdicts.Count != batch.Count)
                throw new InvalidOperationException($"scorer returned {verdicts.Count} verdicts for {batch.Count} texts");
            for (int i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(verdicts[i]);
        }
        catch (Exception e)
        {
            _logger?.LogError(e, "Scoring a batch of {Count} texts failed.", batch.Count);
            foreach (var b in batch) b.Done.TrySetException(e);
        }
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _texts, batch.Count);
        long seen;
        while (batch.Count > (seen = Interlocked.Read(ref _largest)) && Interlocked.CompareExchange(ref _largest, batch.Count, seen) != seen) { }
    }

    /// <summary>Stops taking texts; those already queued are still scored.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _worker.Wait(TimeSpan.FromSeconds(30));
    }
}
