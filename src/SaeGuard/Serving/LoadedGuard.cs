using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>A guard ready to serve: its scorer, its feature catalog, and the probe folder it came from.</summary>
public sealed class LoadedGuard : IDisposable
{
    public IGuardScorer Scorer { get; }
    /// <summary>features.json of the probe folder, with every feature's decision weight.</summary>
    public FeatureCatalog Catalog { get; }
    /// <summary>The probe folder (its report.html is linked from the feature browser).</summary>
    public string? Directory { get; }

    public LoadedGuard(IGuardScorer scorer, FeatureCatalog catalog, string? directory = null)
    {
        Scorer = scorer;
        Catalog = catalog;
        Directory = directory;
    }

    public void Dispose() => (Scorer as IDisposable)?.Dispose();
}
