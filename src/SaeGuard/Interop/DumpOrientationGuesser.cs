using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SaeGuard.Interop;

/// <summary>
/// Decides whether foreign chunks are [tokens, features] or [features, tokens], in order of
/// evidence: a layout phrase in meta.json ("features x tokens"), a feature-count field in
/// meta.json that matches one axis, a token-count field that matches one axis's total, the
/// axis that varies between chunks (tokens), and finally the usual [tokens, features].
/// </summary>
static class DumpOrientationGuesser
{
    static readonly string[] FeatureKeys =
    {
        "d_sae", "n_features", "num_features", "n_feats", "num_feats", "n_latents", "num_latents", "dict_size",
        "d_hidden", "hidden_dim", "n_dict", "dictionary_size", "d", "d_in", "d_model", "hidden_size", "width", "dim",
        "feature_dim", "n_dims", "activation_dim",
    };
    static readonly string[] TokenKeys =
    {
        "n_tokens", "num_tokens", "total_tokens", "tokens", "n_rows", "num_rows", "total_rows", "n_samples", "num_samples",
    };

    // "features x tokens", "[n_features, n_tokens]", "tokens_by_features", …
    const string Between = @"[a-z]*[\s_\-\[\],]*(x|by|×|,|vs)[\s_\-\[\],]*(n_|num_)?";

    /// <param name="shapes">The shape of every chunk's matrix.</param>
    /// <param name="meta">A metadata file beside the chunks, or null.</param>
    /// <param name="rank">The rank of the chunks' arrays.</param>
    /// <param name="fromShapes">Whether the axis that varies between chunks counts as evidence.</param>
    public static OrientationGuess Guess(IReadOnlyList<long[]> shapes, JsonNode? meta, int rank, bool fromShapes = true)
    {
        const DumpOrientation TF = DumpOrientation.TokensByFeatures, FT = DumpOrientation.FeaturesByTokens;
        if (rank > 2) return new(TF, $"chunks are {rank}-D; the last axis is taken as features, the others as tokens", true);
        var values = new List<(string Key, JsonNode Node)>();
        if (meta != null) Collect(meta, values, 0);

        foreach (var (key, node) in values)
        {
            string text = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
            foreach (var phrase in new[] { key, text })
            {
                if (Regex.IsMatch(phrase, "feat" + Between + "tok", RegexOptions.IgnoreCase))
                    return new(FT, $"meta.json says \"{phrase}\"", true);
                if (Regex.IsMatch(phrase, "tok" + Between + "feat", RegexOptions.IgnoreCase))
                    return new(TF, $"meta.json says \"{phrase}\"", true);
            }
        }

        long[] axis0 = shapes.Select(s => s[0]).ToArray(), axis1 = shapes.Select(s => s[1]).ToArray();
        bool const0 = axis0.Distinct().Count() == 1, const1 = axis1.Distinct().Count() == 1;
        foreach (var (key, node) in values)
        {
            if (!FeatureKeys.Contains(key.ToLowerInvariant()) || Int(node) is not { } n) continue;
            bool on0 = const0 && axis0[0] == n, on1 = const1 && axis1[0] == n;
            if (on1 && !on0) return new(TF, $"meta.json {key} = {n} matches axis 1", true);
            if (on0 && !on1) return new(FT, $"meta.json {key} = {n} matches axis 0", true);
        }
        long sum0 = axis0.Sum(), sum1 = axis1.Sum();
        foreach (var (key, node) in values)
        {
            if (!TokenKeys.Contains(key.ToLowerInvariant()) || Int(node) is not { } n) continue;
            if (sum0 == n && sum1 != n) return new(TF, $"meta.json {key} = {n} matches the rows of axis 0", true);
            if (sum1 == n && sum0 != n) return new(FT, $"meta.json {key} = {n} matches the total of axis 1", true);
        }
        if (fromShapes && shapes.Count > 1 && const1 && !const0) return new(TF, "axis 0 varies between chunks, axis 1 does not", true);
        if (fromShapes && shapes.Count > 1 && const0 && !const1) return new(FT, "axis 1 varies between chunks, axis 0 does not", true);
        return new(TF, "no evidence either way; assumed [tokens, features], the usual layout (override with --orientation)", false);
    }

    static long? Int(JsonNode node) => JsonFiles.WholeNumber(node) is > 0 and var n ? n : null;

    static void Collect(JsonNode node, List<(string, JsonNode)> into, int depth)
    {
        if (depth > 8 || into.Count > 10_000) return;
        if (node is JsonObject o)
            foreach (var (k, v) in o)
            {
                if (v == null) continue;
                into.Add((k, v));
                Collect(v, into, depth + 1);
            }
        else if (node is JsonArray a)
            foreach (var v in a) if (v != null) Collect(v, into, depth + 1);
    }
}
