namespace SaeGuard.Sae.Backend;

/// <summary>
/// Work split into a fixed number of contiguous ranges (independent of the thread count), run on
/// up to <see cref="Threads"/> threads: results never depend on scheduling.
/// </summary>
sealed class Parallelism
{
    public int Threads { get; }
    readonly ParallelOptions _opts;

    public Parallelism(int threads)
    {
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        _opts = new ParallelOptions { MaxDegreeOfParallelism = Threads };
    }

    /// <summary>Runs body(chunk, start, end) over <paramref name="chunks"/> equal ranges of [0, n).</summary>
    public void For(int n, int chunks, Action<int, int, int> body, long workPerItem = 1)
    {
        if (n <= 0) return;
        chunks = Math.Max(1, Math.Min(chunks, n));
        if (Threads == 1 || (long)n * workPerItem < 32_768)
        {
            for (int c = 0; c < chunks; c++) body(c, Start(n, chunks, c), Start(n, chunks, c + 1));
            return;
        }
        Parallel.For(0, chunks, _opts, c => body(c, Start(n, chunks, c), Start(n, chunks, c + 1)));
    }

    public static int Start(int n, int chunks, int c) => (int)((long)n * c / chunks);
}
