namespace SaeGuard.Analysis;

/// <summary>One category of documents seen by the analysis.</summary>
/// <param name="Name">The category (DocRecord.Category).</param>
/// <param name="Documents">Documents of this category with at least one analysed token.</param>
/// <param name="Tokens">Analysed tokens of those documents.</param>
public sealed record CategoryInfo(string Name, long Documents, long Tokens);

/// <summary>One row of a category's specificity table.</summary>
/// <param name="Feature">Feature id.</param>
/// <param name="FiredDocuments">Documents of the category on which the feature fired (value &gt; 0 on at least one token).</param>
/// <param name="Score">Its specificity to the category (<see cref="CategorySpecificity"/>).</param>
public sealed record CategoryFeature(int Feature, long FiredDocuments, Specificity Score);

/// <summary>
/// Per-category feature specificity over documents (<see cref="CategorySpecificity"/>): for each
/// category, its documents, and per feature the documents it fired on; the top features of each
/// category by the lower 95% bound of the log-odds ratio against all other categorised documents.
/// </summary>
public sealed class CategoryAnalysis
{
    public const int TopPerCategory = 10;

    public required IReadOnlyList<CategoryInfo> Categories { get; init; }
    /// <summary>Fired[c][j] = documents of category c on which feature j fired.</summary>
    public required IReadOnlyList<long[]> Fired { get; init; }
    /// <summary>Top[c] = the category's most specific features, best first.</summary>
    public required IReadOnlyList<IReadOnlyList<CategoryFeature>> Top { get; init; }
    /// <summary>The prior pseudo-count used.</summary>
    public double Prior { get; init; } = CategorySpecificity.DefaultPrior;

    /// <summary>Doc id → category name, kept for colouring the PCA by category.</summary>
    public Func<int, string?> DocCategory { get; init; } = _ => null;

    /// <summary>Document firing rate of feature j in category c.</summary>
    public double Rate(int c, int j) => Categories[c].Documents > 0 ? (double)Fired[c][j] / Categories[c].Documents : 0;

    /// <summary>The specificity of feature j in category c (recomputed from the counts).</summary>
    public Specificity Score(int c, int j)
    {
        long all = 0, docs = 0;
        for (int q = 0; q < Categories.Count; q++) { all += Fired[q][j]; docs += Categories[q].Documents; }
        return CategorySpecificity.Score(Fired[c][j], Categories[c].Documents, all - Fired[c][j], docs - Categories[c].Documents, Prior);
    }
}

/// <summary>
/// Streams code rows and counts, per category, the documents each feature fires on. A document's
/// rows are expected to be contiguous in the stream (as every SaeGuard dump stores them): a feature
/// counts once per run of rows of one document. Rows of documents without a category are skipped.
/// </summary>
public sealed class CategoryAccumulator
{
    readonly Func<int, string?> _category;
    readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    readonly List<string> _names = new();
    readonly List<HashSet<int>> _docs = new();
    readonly List<long> _tokens = new();
    readonly List<long[]> _fired = new();
    readonly int[] _lastDoc;
    readonly int _width;

    public CategoryAccumulator(int width, Func<int, string?> docCategory)
    {
        _width = width;
        _category = docCategory;
        _lastDoc = new int[width];
        Array.Fill(_lastDoc, int.MinValue);
    }

    /// <summary>Adds one token: its document and the ids of its features with value &gt; 0.</summary>
    public void AddRow(int doc, ReadOnlySpan<int> active)
    {
        var name = _category(doc);
        if (string.IsNullOrEmpty(name)) return;
        if (!_index.TryGetValue(name, out int c))
        {
            _index[name] = c = _names.Count;
            _names.Add(name); _docs.Add(new HashSet<int>()); _tokens.Add(0); _fired.Add(new long[_width]);
        }
        _docs[c].Add(doc);
        _tokens[c]++;
        var fired = _fired[c];
        foreach (int j in active)
            if (_lastDoc[j] != doc) { _lastDoc[j] = doc; fired[j]++; }
    }

    /// <summary>The tables; null unless at least two categories were seen (specificity needs an outside).</summary>
    public CategoryAnalysis? Finish(double prior = CategorySpecificity.DefaultPrior)
    {
        if (_names.Count < 2) return null;
        var order = Enumerable.Range(0, _names.Count).OrderBy(c => _names[c], StringComparer.Ordinal).ToList();
        var cats = order.Select(c => new CategoryInfo(_names[c], _docs[c].Count, _tokens[c])).ToList();
        var fired = order.Select(c => _fired[c]).ToList();
        var units = cats.Select(c => c.Documents).ToList();
        var top = new List<IReadOnlyList<CategoryFeature>>();
        for (int c = 0; c < cats.Count; c++)
        {
            var scores = CategorySpecificity.ForCategory(fired, units, c, prior);
            top.Add(CategorySpecificity.Top(scores, fired[c], CategoryAnalysis.TopPerCategory)
                .Select(t => new CategoryFeature(t.Feature, fired[c][t.Feature], t.Score)).ToList());
        }
        return new CategoryAnalysis { Categories = cats, Fired = fired, Top = top, Prior = prior, DocCategory = _category };
    }
}
