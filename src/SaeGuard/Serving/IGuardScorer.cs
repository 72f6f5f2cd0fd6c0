using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>
/// What the HTTP server, the chat middleware and the feature browser need of a guard: verdicts
/// and per-token explanations. <see cref="ProbeGuard"/> (a <c>saeguard probe</c> folder) is the
/// implementation; the interface lets a host wrap it (caching, fault injection in tests).
/// Implementations must be thread-safe: the server calls <see cref="Score"/> from its batching
/// worker and <see cref="Explain"/> from request threads at the same time.
/// </summary>
public interface IGuardScorer
{
    /// <summary>What the guard is (model, layer, SAE shape, threshold, metrics), for /v1/info.</summary>
    GuardInfo Info { get; }

    /// <summary>One verdict per text, in order. Texts are scored independently: the result for a
    /// text must not depend on which other texts share the batch.</summary>
    IReadOnlyList<GuardVerdict> Score(IReadOnlyList<string> texts);

    /// <summary>The activation of SAE feature <paramref name="featureId"/> on every token of
    /// <paramref name="text"/> (special tokens included, flagged): <see cref="TokenTrace.Features"/>
    /// is [featureId]. Throws <see cref="ArgumentOutOfRangeException"/> for an id outside [0, Info.Sae.DSae).</summary>
    TokenTrace Explain(string text, int featureId);

    /// <summary>
    /// <see cref="Score"/> off the caller's thread. The default runs it on the thread pool;
    /// <paramref name="cancellationToken"/> is checked before scoring starts and releases the caller
    /// at once when cancelled later (a batch already in the model runs to its end; its result is
    /// dropped). Implementations with a truly asynchronous backend override it.
    /// </summary>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled.</exception>
    Task<IReadOnlyList<GuardVerdict>> ScoreAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.Run(() => Score(texts), cancellationToken).WaitAsync(cancellationToken);
    }

    /// <summary><see cref="Explain"/> off the caller's thread, with the cancellation of <see cref="ScoreAsync"/>.</summary>
    Task<TokenTrace> ExplainAsync(string text, int featureId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.Run(() => Explain(text, featureId), cancellationToken).WaitAsync(cancellationToken);
    }
}
