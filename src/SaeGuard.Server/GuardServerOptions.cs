namespace SaeGuard.Server;

/// <summary>How the guard server listens, what it accepts, and how it batches.</summary>
public sealed record GuardServerOptions
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public IReadOnlyList<string> Urls { get; init; } = new[] { DefaultUrl };
    /// <summary>Allow addresses other than loopback (127.0.0.0/8, ::1, localhost).</summary>
    public bool AllowRemote { get; init; }
    /// <summary>Largest request body accepted (bytes); larger bodies get 413.</summary>
    public long MaxBodyBytes { get; init; } = 256 * 1024;
    /// <summary>Most texts in one /v1/classify request; more get 400.</summary>
    public int MaxTextsPerRequest { get; init; } = 64;
    /// <summary>Texts longer than this many characters are cut (reported per result).</summary>
    public int MaxTextChars { get; init; } = 8000;
    /// <summary>Most texts the batching worker hands to the scorer at once.</summary>
    public int MaxBatch { get; init; } = 32;
    /// <summary>How long the worker waits for more texts when a batch is not full (0: take what is queued).</summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(1);
    /// <summary>Texts waiting to be scored at most; beyond it requests get 503.</summary>
    public int QueueCapacity { get; init; } = 4096;
    /// <summary>The analysis report folder (saeguard analyze --out), linked from the browser.</summary>
    public string? AnalysisReportDir { get; init; }
}
