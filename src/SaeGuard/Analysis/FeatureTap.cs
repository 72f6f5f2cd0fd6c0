using SaeGuard.Activations;

namespace SaeGuard.Analysis;

/// <summary>
/// Watches the code blocks of the first analysis pass on their way to <see cref="FeatureAnalyzer"/>
/// and feeds, per token, its active features (value &gt; 0) to the category counts and the top-token
/// labels. Runs on the enumerating thread while a block's arrays are still valid.
/// </summary>
public sealed class FeatureTap
{
    readonly int _width;
    readonly CategoryAccumulator? _categories;
    readonly FeatureLabels? _labels;
    int[] _active = Array.Empty<int>();
    bool _used;

    public FeatureTap(int width, Func<int, string?>? docCategory, bool withLabels)
    {
        _width = width;
        if (docCategory != null) _categories = new CategoryAccumulator(width, docCategory);
        if (withLabels) _labels = new FeatureLabels(width);
    }

    public CategoryAccumulator? Categories => _categories;
    public FeatureLabels? Labels => _labels;

    /// <summary>The blocks, observed the first time only (a second pass over the same rows is passed through).</summary>
    public IEnumerable<RowBlock> Observe(IEnumerable<RowBlock> blocks)
    {
        if (_used || (_categories == null && _labels == null)) return blocks;
        _used = true;
        return Watch(blocks);
    }

    IEnumerable<RowBlock> Watch(IEnumerable<RowBlock> blocks)
    {
        foreach (var b in blocks)
        {
            Add(b);
            yield return b;
        }
    }

    public void Add(RowBlock b)
    {
        if (_active.Length < _width) _active = new int[_width];
        for (int r = 0; r < b.Rows; r++)
        {
            var row = b.Data.AsSpan(r * _width, _width);
            int n = 0;
            for (int j = row.IndexOfAnyExcept(0f); j >= 0;)
            {
                float v = row[j];
                if (v > 0)
                {
                    _active[n++] = j;
                    _labels?.Offer(j, v, b.TokenIds[r]);
                }
                int next = row[(j + 1)..].IndexOfAnyExcept(0f);
                j = next < 0 ? -1 : j + 1 + next;
            }
            _categories?.AddRow(b.DocIds[r], _active.AsSpan(0, n));
        }
    }
}
