using SaeGuard.Common;

namespace SaeGuard.Serving;

/// <summary>A guard ready to serve: its scorer, its feature catalog, and the folder it came from.</summary>
public sealed class LoadedGuard : IDisposable
{
    public IGuardScorer Scorer { get; }
    public IFeatureCatalog Catalog { get; }
    /// <summary>The probe folder (its report.html and plots are linked from the feature browser).</summary>
    public string? Directory { get; }

    public LoadedGuard(IGuardScorer scorer, IFeatureCatalog catalog, string? directory = null)
    {
        Scorer = scorer;
        Catalog = catalog;
        Directory = directory;
    }

    public void Dispose() => (Scorer as IDisposable)?.Dispose();
}

/// <summary>
/// The one place that turns a probe folder into a servable guard (<c>saeguard serve --probe DIR</c>,
/// the chat middleware sample and the load benchmark all come through here). Two layouts: the
/// output of <c>saeguard probe</c> (probe.json; served through <see cref="ProbeGuard"/> and
/// <see cref="ProbeFeatureCatalog"/>) and the stand-in guard folder (guard.json, <see cref="GuardFolder"/>).
/// </summary>
public static class GuardLoader
{
    public static LoadedGuard Load(string probeDir, Probes.GuardLoadOptions? options = null)
    {
        if (!System.IO.Directory.Exists(probeDir)) throw new UserError($"Probe folder not found: '{probeDir}'.");
        if (File.Exists(Path.Combine(probeDir, Probes.ProbeManifest.FileName)))
        {
            var guard = new ProbeGuard(Probes.GuardClassifier.Load(probeDir, options));
            return new LoadedGuard(guard, new ProbeFeatureCatalog(guard.Classifier), Path.GetFullPath(probeDir));
        }
        if (GuardFolder.IsGuardFolder(probeDir))
        {
            var (scorer, catalog) = GuardFolder.Load(probeDir, options?.Threads ?? 0);
            return new LoadedGuard(scorer, catalog, Path.GetFullPath(probeDir));
        }
        throw new UserError($"'{probeDir}' is not a probe folder SaeGuard can serve: expected {Probes.ProbeManifest.FileName} (from 'saeguard probe') or {GuardFolder.ManifestFile} " +
                            $"with {GuardFolder.WeightsFile}, {GuardFolder.SaeDir}/ and {FeatureCatalog.FileName}.");
    }
}
