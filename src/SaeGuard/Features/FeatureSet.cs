namespace SaeGuard.Features;

/// <summary>What the pages were computed from.</summary>
public sealed record FeatureSetInfo
{
    public string Sae { get; init; } = "";
    public string Acts { get; init; } = "";
    public string? Probe { get; init; }
    public string Model { get; init; } = "";
    public string Hook { get; init; } = "";
    public int Layer { get; init; }
    public int DIn { get; init; }
    public int DSae { get; init; }
    public long Tokens { get; init; }
    public int Docs { get; init; }
    public List<string> Labels { get; init; } = new();
    public List<string> Categories { get; init; } = new();
    public double Prior { get; init; }
    /// <summary>The model whose unembedding gave the logit lens, or null.</summary>
    public string? LogitLens { get; init; }
}

/// <summary>One row of the feature list: enough to search, sort and filter without the pages.</summary>
public sealed record FeatureSummary
{
    public int Id { get; init; }
    public string Label { get; init; } = "";
    /// <summary>Distinct texts of the top tokens (searched by the list).</summary>
    public List<string> TopTokens { get; init; } = new();
    public double FiringRate { get; init; }
    public double MeanActive { get; init; }
    public double Max { get; init; }
    public double? ProbeWeight { get; init; }
    /// <summary>Group name → specificity (log-odds ratio) for labels and categories.</summary>
    public Dictionary<string, double> LabelSpecificity { get; init; } = new();
    public Dictionary<string, double> CategorySpecificity { get; init; } = new();
}

/// <summary>All feature pages of an SAE over one activation dump, with the list's summaries.</summary>
public sealed class FeatureSet
{
    public required FeatureSetInfo Info { get; init; }
    public required IReadOnlyList<FeaturePage> Pages { get; init; }

    public FeaturePage? Get(int id) => id >= 0 && id < Pages.Count ? Pages[id] : null;

    public IEnumerable<FeatureSummary> Summaries() => Pages.Select(p => new FeatureSummary
    {
        Id = p.Id, Label = p.Label, FiringRate = p.FiringRate, MeanActive = p.MeanActive, Max = p.Max, ProbeWeight = p.ProbeWeight,
        TopTokens = p.Top.Select(c => c.Tokens.Count > c.Centre ? Probes.FeatureCatalog.Clean(c.Tokens[c.Centre]) : "")
            .Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
        LabelSpecificity = p.ByLabel.ToDictionary(g => g.Group, g => Math.Round(g.Specificity, 4)),
        CategorySpecificity = p.ByCategory.ToDictionary(g => g.Group, g => Math.Round(g.Specificity, 4)),
    });

    /// <summary>Features by specificity to a label or category (highest first), ties by id.</summary>
    public IReadOnlyList<FeaturePage> RankBy(string group, bool category) =>
        Pages.OrderByDescending(p => (category ? p.ByCategory : p.ByLabel).FirstOrDefault(g => g.Group == group)?.Specificity ?? double.NegativeInfinity)
            .ThenBy(p => p.Id).ToList();
}
