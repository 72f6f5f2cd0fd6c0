namespace SaeGuard.Common;

/// <summary>One progress report of a long step (extract, train, probe, eval …): what a <see cref="ProgressBar"/>
/// would have drawn on stderr.</summary>
/// <param name="Label">The step, e.g. "extract".</param>
/// <param name="Done">Items done so far.</param>
/// <param name="Total">Items in all (0 when unknown).</param>
/// <param name="Unit">What <paramref name="Rate"/> counts, e.g. "tokens".</param>
/// <param name="Rate">Units per second since the step began.</param>
/// <param name="Elapsed">Time since the step began.</param>
/// <param name="Detail">The step's extra text (e.g. the current loss), or "".</param>
/// <param name="Final">True on the last report of the step.</param>
public readonly record struct ProgressUpdate(string Label, long Done, long Total, string Unit, double Rate, TimeSpan Elapsed, string Detail, bool Final)
{
    /// <summary>Done / Total in [0, 1], or null when the total is unknown.</summary>
    public double? Fraction => Total > 0 ? Math.Min(1.0, (double)Done / Total) : null;
}

/// <summary>
/// Where the library's progress goes. By default (no sink) every <see cref="ProgressBar"/> draws on
/// stderr, as the CLI wants; a host sets <see cref="Global"/> once, or wraps a piece of work in
/// <see cref="Use"/> (scoped to that async flow), to receive <see cref="ProgressUpdate"/>s instead.
/// </summary>
public static class ProgressSink
{
    static readonly AsyncLocal<IProgress<ProgressUpdate>?> Scoped = new();
    static volatile IProgress<ProgressUpdate>? _global;

    /// <summary>The sink for the whole process (null: stderr).</summary>
    public static IProgress<ProgressUpdate>? Global { get => _global; set => _global = value; }

    /// <summary>The sink bars made now report to: the innermost <see cref="Use"/> scope's, else <see cref="Global"/>.</summary>
    public static IProgress<ProgressUpdate>? Current => Scoped.Value ?? _global;

    /// <summary>Sends the progress of the work done in this async flow to <paramref name="sink"/> until the result is disposed.</summary>
    public static IDisposable Use(IProgress<ProgressUpdate> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var previous = Scoped.Value;
        Scoped.Value = sink;
        return new Restore(previous);
    }

    sealed class Restore(IProgress<ProgressUpdate>? previous) : IDisposable
    {
        bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            Scoped.Value = previous;
        }
    }
}
