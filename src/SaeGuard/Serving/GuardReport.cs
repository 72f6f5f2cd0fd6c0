using System.Globalization;
using System.Net;
using System.Text;

namespace SaeGuard.Serving;

/// <summary>report.html of a guard folder: metrics and the features the probe leans on most.</summary>
public static class GuardReport
{
    public const string FileName = "report.html";

    public static string Html(BuiltGuard guard, int topFeatures = 30)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        static string N(double x) => x.ToString("0.####", CultureInfo.InvariantCulture);
        var info = guard.Scorer.Info;
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>SaeGuard probe report</title><style>")
          .Append("body{font-family:system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem;color:#1d232b}")
          .Append("table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dde1e6;padding:.3rem .5rem;text-align:left}")
          .Append(".num{text-align:right;font-variant-numeric:tabular-nums}</style></head><body>")
          .Append("<h1>Probe report</h1>")
          .Append($"<p>{E(info.Model)}, layer {info.Layer} ({E(info.Hook)}); SAE {info.Sae.DSae} features ({E(info.Sae.Architecture)}")
          .Append(info.Sae.K > 0 ? $", k = {info.Sae.K}" : "").Append($"); {E(info.Pooling)} pooling; threshold {N(info.Threshold)}.</p>")
          .Append("<h2>Metrics</h2><table><tr><th>metric</th><th class=\"num\">value</th></tr>");
        foreach (var (k, v) in guard.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.Append($"<tr><td>{E(k)}</td><td class=\"num\">{N(v)}</td></tr>");
        sb.Append("</table><h2>Features with the largest probe weights</h2>")
          .Append("<table><tr><th>feature</th><th>label</th><th class=\"num\">weight</th><th class=\"num\">firing rate</th></tr>");
        foreach (var f in guard.Catalog.List().OrderByDescending(f => Math.Abs(f.ProbeWeight)).ThenBy(f => f.Id).Take(topFeatures))
            sb.Append($"<tr><td>#{f.Id}</td><td>{E(f.Label)}</td><td class=\"num\">{N(f.ProbeWeight)}</td><td class=\"num\">{N(f.FiringRate)}</td></tr>");
        sb.Append("</table></body></html>\n");
        return sb.ToString();
    }
}
