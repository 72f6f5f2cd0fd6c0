using System.Text;
using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.Sae;

namespace SaeGuard.Features;

/// <summary>
/// Writes a <see cref="FeatureSet"/> as a static site that opens from disk: index.html with the
/// dashboard script and style, data/index.js (info + the list's summaries), data/f/ID.js (one page
/// each, loaded by a script tag on demand), and the exports: neuronpedia/ID.json and SAELens's
/// sparsity.safetensors. Replaces the folder atomically (the caller checks it with OutputPolicy).
/// </summary>
public static class FeatureSite
{
    public const string Kind = "features";
    public const string IndexCallback = "SAEGUARD_FEATURES", PageCallback = "SAEGUARD_FEATURE_PAGE";

    public static string IndexScript(FeatureSet set) =>
        $"window.{IndexCallback} = {JsonSerializer.Serialize(new { info = set.Info, features = set.Summaries() }, JsonDefaults.Line)};\n";

    public static string PageScript(FeaturePage p) => $"window.{PageCallback}({JsonSerializer.Serialize(p, JsonDefaults.Line)});\n";

    public static void Write(FeatureSet set, string outDir)
    {
        using var dir = new AtomicDirectory(outDir, Kind);
        foreach (var name in FeatureSiteAssets.Names) File.WriteAllBytes(dir.File(name), FeatureSiteAssets.Get(name));
        Directory.CreateDirectory(dir.File("data/f"));
        Directory.CreateDirectory(dir.File("neuronpedia"));
        File.WriteAllText(dir.File("data/index.js"), IndexScript(set), Encoding.UTF8);
        using (var bar = new ProgressBar("features: pages", set.Pages.Count, "features"))
            foreach (var p in set.Pages)
            {
                File.WriteAllText(dir.File($"data/f/{p.Id}.js"), PageScript(p), Encoding.UTF8);
                File.WriteAllText(dir.File($"neuronpedia/{p.Id}.json"), NeuronpediaExport.Of(p, set.Info).ToJsonString(JsonDefaults.Line), Encoding.UTF8);
                bar.Advance(1);
            }
        SparsityFile.Write(dir.File(SparsityFile.FileName), set.Pages.Select(p => p.FiringRate).ToList(), set.Info.Tokens);
        dir.Commit();
    }
}
