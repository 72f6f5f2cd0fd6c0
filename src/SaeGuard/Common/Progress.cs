using System.Diagnostics;

namespace SaeGuard.Common;

/// <summary>
/// A progress line on stderr: items done of total, a rate (e.g. tokens/s) and an ETA. On a
/// terminal it redraws in place a few times a second; when stderr is redirected (logs, CI) it
/// prints a plain line at the start, every few seconds, and once at the end. A host that embeds
/// the library sends the same updates to its own <see cref="IProgress{T}"/> instead
/// (<see cref="ProgressSink"/>): nothing is then written to stderr.
/// </summary>
public sealed class ProgressBar : IDisposable
{
    static readonly TimeSpan TerminalGap = TimeSpan.FromMilliseconds(250), LogGap = TimeSpan.FromSeconds(5);

    readonly string _label;
    readonly long _total;
    readonly string _unit;
    readonly Stopwatch _sw = Stopwatch.StartNew();
    readonly TextWriter? _out;
    readonly IProgress<ProgressUpdate>? _sink;
    readonly bool _interactive;
    long _done;
    long _rateCount;
    TimeSpan _lastDraw = TimeSpan.FromDays(-1);
    string _extra = "";
    (long Done, string Extra)? _lastDrawn;
    bool _disposed;

    /// <summary>When set, bars made afterwards print nothing on stderr (tests, embedding hosts); a
    /// <see cref="ProgressSink"/> still gets its updates.</summary>
    public static bool Silent { get; set; }

    /// <summary>A bar that reports to <see cref="ProgressSink.Current"/> when one is set, else draws on stderr
    /// (nothing when <see cref="Silent"/>).</summary>
    public ProgressBar(string label, long total, string unit = "items")
        : this(label, total, unit, ProgressSink.Current, Silent ? null : Console.Error, !Console.IsErrorRedirected) { }

    internal ProgressBar(string label, long total, string unit, TextWriter? output, bool interactive)
        : this(label, total, unit, null, output, interactive) { }

    internal ProgressBar(string label, long total, string unit, IProgress<ProgressUpdate>? sink, TextWriter? output, bool interactive)
    {
        _label = label; _total = total; _unit = unit; _sink = sink; _out = sink == null ? output : null;
        _interactive = sink != null || interactive; // a sink gets the terminal's cadence (a few updates a second)
    }

    public long Done => _done;
    public double Elapsed => _sw.Elapsed.TotalSeconds;

    /// <summary>Advance by <paramref name="items"/>; <paramref name="rateUnits"/> feeds the rate (defaults to items).</summary>
    public void Advance(long items, long rateUnits = -1, string? extra = null)
    {
        _done += items;
        _rateCount += rateUnits < 0 ? items : rateUnits;
        if (extra != null) _extra = extra;
        var now = _sw.Elapsed;
        bool reachedTotal = _total > 0 && _done >= _total && _lastDrawn?.Done < _total;
        if (now - _lastDraw >= (_interactive ? TerminalGap : LogGap) || reachedTotal) { _lastDraw = now; Draw(final: false); }
    }

    void Draw(bool final)
    {
        if (_out == null && _sink == null) return;
        if (final && _sink == null && !_interactive && _lastDrawn == (_done, _extra)) return; // the last line already says it
        _lastDrawn = (_done, _extra);
        double secs = Math.Max(1e-9, _sw.Elapsed.TotalSeconds);
        double rate = _rateCount / secs;
        if (_sink != null)
        {
            _sink.Report(new ProgressUpdate(_label, _done, _total, _unit, rate, _sw.Elapsed, _extra, final));
            return;
        }
        string pct = _total > 0 ? $"{100.0 * _done / _total,5:F1}%" : "";
        string count = _total > 0 ? $"{_done:N0}/{_total:N0} {pct}" : $"{_done:N0}";
        string eta = _total > 0 && _done > 0 && _done < _total
            ? "ETA " + Fmt(TimeSpan.FromSeconds(secs * (_total - _done) / _done)) : $"in {Fmt(_sw.Elapsed)}";
        string line = $"{_label}: {count} | {rate:N0} {_unit}/s | {eta} {_extra}".TrimEnd();
        if (_interactive) _out!.Write("\r" + line.PadRight(100) + (final ? "\n" : ""));
        else _out!.WriteLine(line);
    }

    static string Fmt(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Draw(final: true);
    }
}
