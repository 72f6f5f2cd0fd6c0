using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Galtea red-teaming data (CSV or Parquet with <c>prompt, source, cluster</c>): adversarial prompts,
/// labelled harmful, whose numeric cluster id (0–5) becomes one of the six harm category names.
/// </summary>
public static class GalteaFormat
{
    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        var opts = DataFormats.WithDefaults(o, label: Labels.Harmful, textColumn: "prompt", categoryColumn: "cluster");
        foreach (var doc in TabularFile.Read(path, opts))
            yield return doc with { Category = ClusterName(doc.Category, path, opts.CategoryColumn!) };
    }

    /// <summary>"3" (or "3.0") → "toxicity &amp; hate speech"; a name is kept as it is.</summary>
    public static string? ClusterName(string? cluster, string path, string column)
    {
        if (cluster == null) return null;
        if (!double.TryParse(cluster, System.Globalization.CultureInfo.InvariantCulture, out var v)) return cluster;
        int id = (int)v;
        if (id != v || id < 0 || id >= HarmCategories.GalteaClusters.Count)
            throw new UserError($"'{path}': column '{column}' holds cluster id '{cluster}'; Galtea clusters are 0–5 ({string.Join(", ", HarmCategories.GalteaClusters.Select((n, i) => $"{i} {n}"))}).");
        return HarmCategories.GalteaClusters[id];
    }
}
