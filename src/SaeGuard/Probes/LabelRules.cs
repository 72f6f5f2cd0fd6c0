using SaeGuard.Common;
using SaeGuard.Data;

namespace SaeGuard.Probes;

/// <summary>One rule of a <c>--labels</c> spec: documents whose source matches get this label and category.</summary>
public sealed record LabelRule(string Pattern, string? Label, string? Category)
{
    public bool Matches(string source) => Wildcard(Pattern, source);

    static bool Wildcard(string pattern, string text)
    {
        // '*' matches any run of characters; case-insensitive.
        var parts = pattern.Split('*');
        int pos = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (i == 0)
            {
                if (!text.StartsWith(part, StringComparison.OrdinalIgnoreCase)) return false;
                pos = part.Length;
                continue;
            }
            if (i == parts.Length - 1)
                return text.Length - pos >= part.Length && text.EndsWith(part, StringComparison.OrdinalIgnoreCase);
            int at = text.IndexOf(part, pos, StringComparison.OrdinalIgnoreCase);
            if (at < 0) return false;
            pos = at + part.Length;
        }
        return pos == text.Length;
    }
}

/// <summary>
/// The <c>--labels</c> spec: comma-separated <c>SOURCE=LABEL[:CATEGORY]</c> rules matched on each
/// document's source (the input file's name without extension, '*' as a wildcard; first match
/// wins), e.g. <c>harmful_behaviors=harmful, harmless_*=benign, ShareGPT*=ignore</c>. LABEL is
/// harmful/benign (or 1/0, unsafe/safe …) or <c>ignore</c> to leave those documents out. Documents
/// no rule matches keep the label and category they were extracted with.
/// </summary>
public static class LabelRules
{
    public static IReadOnlyList<LabelRule> Parse(string? spec)
    {
        var rules = new List<LabelRule>();
        if (string.IsNullOrWhiteSpace(spec)) return rules;
        foreach (var raw in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = raw.IndexOf('=');
            if (eq <= 0 || eq == raw.Length - 1)
                throw new UserError($"--labels: '{raw}' is not SOURCE=LABEL[:CATEGORY] (e.g. 'harmful_behaviors=harmful:violence & illegal').");
            var pattern = raw[..eq].Trim();
            var rest = raw[(eq + 1)..].Trim();
            int colon = rest.IndexOf(':');
            var labelText = (colon < 0 ? rest : rest[..colon]).Trim();
            var category = colon < 0 ? null : rest[(colon + 1)..].Trim();
            string? label = labelText.Equals("ignore", StringComparison.OrdinalIgnoreCase)
                ? null
                : Labels.Normalize(labelText, "--labels", rules.Count + 1)
                  ?? throw new UserError($"--labels: rule '{raw}' has an empty label.");
            rules.Add(new LabelRule(pattern, label, string.IsNullOrEmpty(category) ? null : category));
        }
        return rules;
    }

    /// <summary>The label (null = unlabelled or ignored) and category a document ends up with.</summary>
    public static (string? Label, string? Category) Apply(IReadOnlyList<LabelRule> rules, DocRecord doc)
    {
        foreach (var r in rules)
            if (r.Matches(doc.Source)) return (r.Label, r.Category ?? doc.Category);
        return (doc.Label, doc.Category);
    }
}
