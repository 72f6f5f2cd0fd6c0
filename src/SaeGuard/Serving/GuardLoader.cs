using SaeGuard.Probes;

namespace SaeGuard.Serving;

/// <summary>
/// The one place that turns a <c>saeguard probe</c> folder into a servable guard
/// (<c>saeguard serve --probe DIR</c>, the chat middleware sample and the load benchmark all come
/// through here).
/// </summary>
public static class GuardLoader
{
    public static LoadedGuard Load(string probeDir, GuardLoadOptions? options = null, int topFeatures = ProbeGuard.DefaultTopFeatures)
    {
        var guard = new ProbeGuard(GuardClassifier.Load(probeDir, options), topFeatures);
        return new LoadedGuard(guard, guard.Classifier.Catalog, Path.GetFullPath(probeDir));
    }

    /// <summary>The guard built into the package (<see cref="SpanGuard.LoadDefault"/>), for serve without --probe.</summary>
    public static LoadedGuard LoadDefault(int topFeatures = ProbeGuard.DefaultTopFeatures)
    {
        var scorer = new SpanGuardScorer(SpanGuard.LoadDefault(), topFeatures);
        return new LoadedGuard(scorer, scorer.Catalog(), scorer.Guard.Directory);
    }
}
