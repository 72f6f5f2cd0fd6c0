using System.Text;
using System.Text.Json.Nodes;
using nietras.SeparatedValues;

namespace SaeGuard.Cli.Commands;

/// <summary>Reads back what the demo's stages wrote and prints the short summary table.</summary>
sealed class DemoSummary
{
    public List<(string Stage, double Seconds)> Timings { get; init; } = new();
    public JsonNode? Train { get; init; }
    public JsonNode? Diagnosis { get; init; }
    public JsonNode? Probe { get; init; }
    public List<(string Text, string Score, string Label, string Features)> Examples { get; init; } = new();
    public string OutDir { get; init; } = "";

    public static DemoSummary Read(string outDir, List<(string, double)> timings)
    {
        JsonNode? Json(string path) => File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;
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
            Train = lastLine != null ? JsonNode.Parse(lastLine) : null,
            Diagnosis = Json(Path.Combine(outDir, "report", "diagnosis.json")),
            Probe = Json(Path.Combine(outDir, "probe", "metrics.json")),
            Examples = examples,
        };
    }

    static double? Num(JsonNode? n)
    {
        if (n is JsonValue v && v.TryGetValue<double>(out var d)) return d;
        if (n is JsonObject o) return Num(o["mean"]);
        return null;
    }

    static string F(double? v, string fmt = "F3") => v.HasValue ? v.Value.ToString(fmt) : "n/a";

    public double? ProbeAuroc(string kind) => Num(Probe?[kind]?["auroc"]) ?? Num(Probe?[kind]?["auroc_mean"]);

    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine("SaeGuard demo — all-MiniLM-L6-v2 layer 4, built-in labelled prompts");
        sb.AppendLine(new string('-', 72));
        foreach (var (stage, secs) in Timings) sb.AppendLine($"  {stage,-10} {secs,7:F1} s");
        sb.AppendLine(new string('-', 72));
        sb.AppendLine($"  SAE (held-out)   explained variance {F(Num(Train?["explained_variance"]))}, L0 {F(Num(Train?["l0"]), "F1")}, dead {F(Num(Train?["dead_fraction"]), "P1")}");
        var supported = Diagnosis?["hypotheses"] is JsonArray hs
            ? string.Join(", ", hs.Where(h => h?["supported"]?.GetValue<bool>() == true).Select(h => h!["id"]!.ToString()))
            : "";
        sb.AppendLine($"  analysis         verdict {Diagnosis?["verdict"]?.ToString() ?? "n/a"}{(supported.Length > 0 ? $" (supported: {supported})" : "")}");
        sb.AppendLine($"  probe AUROC      SAE features {F(ProbeAuroc("sae"))} | dense {F(ProbeAuroc("dense"))} | hybrid {F(ProbeAuroc("hybrid"))}  ({F(Num(Probe?["sae"]?["n_features_used"]), "F0")} SAE features used)");
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
        sae = new { explained_variance = Num(Train?["explained_variance"]), l0 = Num(Train?["l0"]), dead_fraction = Num(Train?["dead_fraction"]) },
        verdict = Diagnosis?["verdict"]?.ToString(),
        probe_auroc = new { sae = ProbeAuroc("sae"), dense = ProbeAuroc("dense"), hybrid = ProbeAuroc("hybrid") },
        examples = Examples.Select(e => new { text = e.Text, score = e.Score, label = e.Label, top_features = e.Features }),
    };
}
