using System.Text;
using System.Text.Json;
using nietras.SeparatedValues;
using SaeGuard.Analysis;
using SaeGuard.Common;
using SaeGuard.Probes;
using SaeGuard.Sae.Training;

namespace SaeGuard.Cli.Commands;

/// <summary>
/// Reads back what the demo's stages wrote, as the library's own result types (the SAE's last
/// <see cref="TrainMetrics"/> line, the analysis <see cref="Hypothesis"/> list and verdict, the
/// <see cref="ProbeMetricsFile"/>), and prints the short summary table.
/// </summary>
sealed class DemoSummary
{
    /// <summary>The part of diagnosis.json the summary shows.</summary>
    sealed record DiagnosisView(string Verdict, List<Hypothesis> Hypotheses);

    public List<(string Stage, double Seconds)> Timings { get; init; } = new();
    public TrainMetrics? Train { get; init; }
    DiagnosisView? Diagnosis { get; init; }
    public ProbeMetricsFile? Probe { get; init; }
    public List<(string Text, string Score, string Label, string Features)> Examples { get; init; } = new();
    public string OutDir { get; init; } = "";

    public static DemoSummary Read(string outDir, List<(string, double)> timings)
    {
        T? Json<T>(string path) where T : class => File.Exists(path) ? JsonSerializer.Deserialize<T>(File.ReadAllText(path), JsonDefaults.Pretty) : null;
        var metrics = Path.Combine(outDir, "sae", "metrics.jsonl");
        var lastLine = File.Exists(metrics) ? File.ReadLines(metrics).LastOrDefault(l => l.Trim().Length > 0) : null;
        var examples = new List<(string, string, string, string)>();
        var csv = Path.Combine(outDir, "classify.csv");
        if (File.Exists(csv))
        {
            using var r = Sep.Reader(o => o with { Unescape = true }).FromFile(csv);
            foreach (var row in r)
                examples.Add((row["text"].ToString(), row["score"].ToString(), row["label"].ToString(),
                    r.Header.ColNames.Contains("top_features") ? row["top_features"].ToString() : ""));
        }
        return new DemoSummary
        {
            OutDir = outDir,
            Timings = timings,
            Train = lastLine != null ? JsonSerializer.Deserialize<TrainMetrics>(lastLine, JsonDefaults.Pretty) : null,
            Diagnosis = Json<DiagnosisView>(Path.Combine(outDir, "report", AnalysisReport.DiagnosisFile)),
            Probe = Json<ProbeMetricsFile>(Path.Combine(outDir, "probe", "metrics.json")),
            Examples = examples,
        };
    }

    static string F(double? v, string fmt = "F3") => v.HasValue ? v.Value.ToString(fmt) : "n/a";

    public double? ProbeAuroc(string kind) => Probe?.Get(kind).Auroc;

    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine("SaeGuard demo — all-MiniLM-L6-v2 layer 4, built-in labelled prompts");
        sb.AppendLine(new string('-', 72));
        foreach (var (stage, secs) in Timings) sb.AppendLine($"  {stage,-10} {secs,7:F1} s");
        sb.AppendLine(new string('-', 72));
        sb.AppendLine($"  SAE (held-out)   explained variance {F(Train?.ExplainedVariance)}, L0 {F(Train?.L0, "F1")}, dead {F(Train?.DeadFraction, "P1")}");
        var supported = string.Join(", ", (Diagnosis?.Hypotheses ?? new()).Where(h => h.Supported).Select(h => h.Id));
        sb.AppendLine($"  analysis         verdict {Diagnosis?.Verdict ?? "n/a"}{(supported.Length > 0 ? $" (supported: {supported})" : "")}");
        sb.AppendLine($"  probe AUROC      SAE features {F(ProbeAuroc("sae"))} | dense {F(ProbeAuroc("dense"))} | hybrid {F(ProbeAuroc("hybrid"))}  ({F(Probe?.Sae.NFeaturesUsed, "F0")} SAE features used)");
        sb.AppendLine(new string('-', 72));
        foreach (var (text, score, label, feats) in Examples)
        {
            var shown = double.TryParse(score, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var sc) ? sc.ToString("F3") : score;
            sb.AppendLine($"  [{label,-7} {shown,6}] {text}");
            if (feats.Length > 0) sb.AppendLine($"      features: {(feats.Length > 90 ? feats[..90] + "…" : feats)}");
        }
        sb.AppendLine(new string('-', 72));
        sb.AppendLine($"  outputs: {OutDir}/  (report/report.html, probe/report.html)");
        return sb.ToString();
    }

    public object ToJson() => new
    {
        out_dir = OutDir,
        timings = Timings.ToDictionary(t => t.Stage, t => t.Seconds),
        sae = new { explained_variance = Train?.ExplainedVariance, l0 = Train?.L0, dead_fraction = Train?.DeadFraction },
        verdict = Diagnosis?.Verdict,
        probe_auroc = new { sae = ProbeAuroc("sae"), dense = ProbeAuroc("dense"), hybrid = ProbeAuroc("hybrid") },
        examples = Examples.Select(e => new { text = e.Text, score = e.Score, label = e.Label, top_features = e.Features }),
    };
}
