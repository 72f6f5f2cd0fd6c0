namespace SaeGuard.Sae.Backend;

/// <summary>The process-wide backend used by <see cref="SaeModel"/> encoding (created on first use).</summary>
public static class SaeBackends
{
    static readonly object Gate = new();
    static ISaeBackend? _default;

    public static ISaeBackend Default
    {
        get
        {
            var b = _default;
            if (b != null) return b;
            lock (Gate) return _default ??= new CpuBackend();
        }
    }

    /// <summary>A CPU backend with its own thread count (training uses one per run).</summary>
    public static ISaeBackend CreateCpu(int threads = 0) => new CpuBackend(threads);
}
