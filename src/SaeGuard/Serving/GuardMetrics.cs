using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SaeGuard.Serving;

/// <summary>
/// The guard's metrics on <see cref="System.Diagnostics.Metrics"/>, for OpenTelemetry
/// (<c>.WithMetrics(m =&gt; m.AddMeter("SaeGuard"))</c>) or <c>dotnet-counters monitor --counters SaeGuard</c>.
/// Every instrument carries a <c>saeguard.source</c> tag naming who asked: <see cref="Sources"/>.
/// </summary>
public static class GuardMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "SaeGuard";

    /// <summary>The values of the <c>saeguard.source</c> tag.</summary>
    public static class Sources
    {
        /// <summary>POST /v1/classify.</summary>
        public const string HttpClassify = "http.classify";
        /// <summary>The chat middleware scoring the user's turns.</summary>
        public const string ChatInput = "chat.input";
        /// <summary>The chat middleware scoring the model's answer.</summary>
        public const string ChatOutput = "chat.output";
    }

    /// <summary>The tag key.</summary>
    public const string SourceTag = "saeguard.source";

    static readonly Meter Meter = new(MeterName, typeof(GuardMetrics).Assembly.GetName().Version?.ToString());

    /// <summary>Scoring requests (one per classify call or chat check).</summary>
    public static readonly Counter<long> Requests = Meter.CreateCounter<long>("saeguard.requests", "{request}", "Scoring requests handled.");
    /// <summary>Texts scored.</summary>
    public static readonly Counter<long> Texts = Meter.CreateCounter<long>("saeguard.texts", "{text}", "Texts scored.");
    /// <summary>Texts scored at or above the threshold.</summary>
    public static readonly Counter<long> Flagged = Meter.CreateCounter<long>("saeguard.flagged", "{text}", "Texts scored at or above the threshold.");
    /// <summary>Time per scoring request, in seconds.</summary>
    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("saeguard.request.duration", "s", "Time to score one request.");

    /// <summary>Records one scoring request of <paramref name="texts"/> texts, <paramref name="flagged"/> of them flagged.</summary>
    public static void Record(string source, int texts, int flagged, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>(SourceTag, source);
        Requests.Add(1, tag);
        Texts.Add(texts, tag);
        if (flagged > 0) Flagged.Add(flagged, tag);
        Duration.Record(elapsed.TotalSeconds, tag);
    }

    /// <summary>Time since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> value).</summary>
    public static TimeSpan Since(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp);
}
