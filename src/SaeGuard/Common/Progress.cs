using System.Diagnostics;

namespace SaeGuard.Common;

/// <summary>
/// A progress line on stderr: items done of total, a rate (e.g. tokens/s) and an ETA. Redraws at
/// most a few times a second; when stderr is not a terminal it prints a plain line every few seconds.
/// </summary>
public sealed class ProgressBar : IDisposable
{
    readonly string _label;
    readonly long _total;
    readonly string _unit;
    readonly Stopwatch _sw = Stopwatch.StartNew();
    readonly bool _interactive = !Console.IsErrorRedirected;
    readonly bool _quiet;
    long _done;
    long _rateCount;
    TimeSpan _lastDraw = TimeSpan.FromDays(-1);
    string _extra = "";

    public static bool Silent { get; set; }

    public ProgressBar(string label, long total, string unit = "items")
    {
        _label = label; _total = total; _unit = unit; _quiet = Silent;
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
        var gap = _interactive ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(5);
        if (now - _lastDraw >= gap || _done >= _total) { _lastDraw = now; Draw(final: false); }
    }

    void Draw(bool final)
    {
        if (_quiet) return;
        double secs = Math.Max(1e-9, _sw.Elapsed.TotalSeconds);
        double rate = _rateCount / secs;
        string pct = _total > 0 ? $"{100.0 * _done / _total,5:F1}%" : "";
        string eta = _total > 0 && _done > 0 && _done < _total
            ? "ETA " + Fmt(TimeSpan.FromSeconds(secs * (_total - _done) / _done)) : $"in {Fmt(_sw.Elapsed)}";
        string line = $"{_label}: {_done:N0}/{_total:N0} {pct} | {rate:N0} {_unit}/s | {eta} {_extra}";
        if (_interactive) Console.Error.Write("\r" + line.PadRight(100) + (final ? "\n" : ""));
        else Console.Error.WriteLine(line);
    }

    static string Fmt(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");

    public void Dispose() => Draw(final: true);
}
