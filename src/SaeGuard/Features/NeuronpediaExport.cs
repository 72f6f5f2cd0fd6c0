using System.Text.Json.Nodes;

namespace SaeGuard.Features;

/// <summary>
/// A feature page as Neuronpedia's feature JSON: modelId, layer, index, activations (per example
/// the tokens, their values, maxValue and maxValueTokenIndex), the activation-density histogram
/// (freq_hist_data_bar_values = geometric bin centres, _heights = counts), frac_nonzero, and
/// pos_str/neg_str top logits from <see cref="LogitLens"/> (empty without a model).
/// </summary>
public static class NeuronpediaExport
{
    public static readonly string[] RequiredFields =
    {
        "modelId", "layer", "index", "activations", "freq_hist_data_bar_heights", "freq_hist_data_bar_values",
        "frac_nonzero", "maxActApprox", "pos_str", "pos_values", "neg_str", "neg_values", "explanations",
    };

    static JsonArray Strings(List<string>? s) => new((s ?? new()).Select(t => (JsonNode)JsonValue.Create(t)!).ToArray());
    static JsonArray Numbers(List<double>? s) => new((s ?? new()).Select(t => (JsonNode)JsonValue.Create(t)!).ToArray());

    public static JsonObject Of(FeaturePage p, FeatureSetInfo info)
    {
        var examples = p.Top.Select(e => (e, Bin: (double?)null, BinMax: (double?)null))
            .Concat(p.Bands.SelectMany(b => b.Examples.Select(e => (e, Bin: (double?)b.Low, BinMax: (double?)b.High))));
        var acts = new JsonArray();
        foreach (var (e, lo, hi) in examples)
        {
            int argmax = 0;
            for (int i = 1; i < e.Values.Count; i++) if (e.Values[i] > e.Values[argmax]) argmax = i;
            var a = new JsonObject
            {
                ["tokens"] = new JsonArray(e.Tokens.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
                ["values"] = new JsonArray(e.Values.Select(v => (JsonNode)JsonValue.Create((double)v)!).ToArray()),
                ["maxValue"] = e.Values.Count == 0 ? 0 : (double)e.Values[argmax],
                ["maxValueTokenIndex"] = argmax,
                ["minValue"] = e.Values.Count == 0 ? 0 : (double)e.Values.Min(),
            };
            if (lo != null) { a["binMin"] = lo; a["binMax"] = hi; }
            acts.Add(a);
        }
        var h = p.Histogram;
        return new JsonObject
        {
            ["modelId"] = info.Model,
            ["layer"] = $"{info.Layer}-{info.Hook}",
            ["index"] = p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["activations"] = acts,
            ["freq_hist_data_bar_heights"] = new JsonArray(h.Counts.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray()),
            ["freq_hist_data_bar_values"] = new JsonArray(Enumerable.Range(0, h.Counts.Length).Select(i => (JsonNode)JsonValue.Create(Math.Sqrt(h.Edges[i] * h.Edges[i + 1]))!).ToArray()),
            ["frac_nonzero"] = p.FiringRate,
            ["maxActApprox"] = p.Max,
            ["pos_str"] = Strings(p.Logits?.PosStr), ["pos_values"] = Numbers(p.Logits?.PosValues),
            ["neg_str"] = Strings(p.Logits?.NegStr), ["neg_values"] = Numbers(p.Logits?.NegValues),
            ["explanations"] = string.IsNullOrEmpty(p.Label) ? new JsonArray()
                : new JsonArray(new JsonObject { ["description"] = "top tokens: " + p.Label, ["explanationModelName"] = "saeguard top tokens" }),
        };
    }
}
