using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.Models;
using SaeGuard.Sae;

namespace SaeGuard.Serving;

/// <summary>guard.json: what <see cref="GuardFolder"/> needs to rebuild a <see cref="SaeGuardScorer"/>.</summary>
public sealed record GuardManifest
{
    public string Format { get; init; } = GuardFolder.Format;
    public int FormatVersion { get; init; } = 1;
    /// <summary>What <see cref="BuiltInModels.Open"/> takes: "minilm" or a model file.</summary>
    public string Model { get; init; } = "minilm";
    public string ModelName { get; init; } = "";
    public int Layer { get; init; }
    public int MaxTokens { get; init; }
    public string Pooling { get; init; } = "mean";
    public double Threshold { get; init; } = 0.5;
    public double Bias { get; init; }
    public int TopFeatures { get; init; } = 8;
    public Dictionary<string, double> Metrics { get; init; } = new();
    public string CreatedUtc { get; init; } = "";
    public string ToolVersion { get; init; } = ToolInfo.Version;
}

/// <summary>
/// A guard on disk: guard.json, guard_weights.safetensors (tensor "weights" [d_sae]), the SAE in
/// SAELens layout under sae/, features.json (the <see cref="FeatureCatalog"/>) and report.html.
/// </summary>
public static class GuardFolder
{
    public const string Format = "saeguard-guard";
    public const string ManifestFile = "guard.json";
    public const string WeightsFile = "guard_weights.safetensors";
    public const string SaeDir = "sae";

    public static void Save(BuiltGuard guard, string dir, string model = "minilm")
    {
        var scorer = guard.Scorer;
        var manifest = new GuardManifest
        {
            Model = model,
            ModelName = scorer.Info.Model,
            Layer = scorer.Info.Layer,
            MaxTokens = scorer.Info.MaxTokens,
            Pooling = scorer.Head.Pooling,
            Threshold = scorer.Head.Threshold,
            Bias = scorer.Head.Bias,
            TopFeatures = scorer.TopFeatures,
            Metrics = guard.Metrics.ToDictionary(kv => kv.Key, kv => kv.Value),
            CreatedUtc = DateTime.UtcNow.ToString("o"),
        };
        using var output = new AtomicDirectory(dir);
        Directory.CreateDirectory(output.File(SaeDir));
        SaeLensFormat.WriteInto(scorer.Sae, output.File(SaeDir));
        new SafeTensorsWriter().AddF32("weights", scorer.Head.Weights, scorer.Head.Weights.Length).Save(output.File(WeightsFile));
        guard.Catalog.Save(output.File(FeatureCatalog.FileName));
        AtomicFile.WriteAllText(output.File(GuardReport.FileName), GuardReport.Html(guard));
        AtomicFile.WriteAllText(output.File(ManifestFile), JsonSerializer.Serialize(manifest, JsonDefaults.Pretty));
        output.Commit();
    }

    public static bool IsGuardFolder(string dir) => File.Exists(Path.Combine(dir, ManifestFile));

    public static (SaeGuardScorer Scorer, FeatureCatalog Catalog) Load(string dir, int threads = 0)
    {
        var manifestPath = Path.Combine(dir, ManifestFile);
        if (!File.Exists(manifestPath)) throw new UserError($"'{dir}' is not a guard folder: no {ManifestFile}.");
        GuardManifest? manifest;
        try { manifest = JsonSerializer.Deserialize<GuardManifest>(File.ReadAllBytes(manifestPath), JsonDefaults.Pretty); }
        catch (JsonException e) { throw new UserError($"'{manifestPath}' is not valid JSON: {e.Message}"); }
        if (manifest == null || manifest.Format != Format)
            throw new UserError($"'{manifestPath}' is not a guard manifest (expected \"format\": \"{Format}\").");
        var sae = SaeLensFormat.Load(Path.Combine(dir, SaeDir));
        var weightsPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weightsPath)) throw new UserError($"'{dir}' has no {WeightsFile}.");
        float[] weights;
        using (var r = new SafeTensorsReader(weightsPath))
        {
            if (!r.Tensors.TryGetValue("weights", out var t) || t.Shape.Length != 1 || t.Shape[0] != sae.DSae)
                throw new UserError($"'{weightsPath}' must hold a tensor 'weights' of shape [{sae.DSae}] (d_sae of {SaeDir}/).");
            weights = r.ReadFloats("weights");
        }
        var catalog = FeatureCatalog.Load(Path.Combine(dir, FeatureCatalog.FileName));
        var source = ModelSources.BuiltIn.Open(new ModelRequest(manifest.Model, manifest.Layer) { Threads = threads,
            MaxLength = manifest.MaxTokens > 0 ? manifest.MaxTokens : null });
        try
        {
            var head = new LinearHead(weights, manifest.Bias, manifest.Threshold, manifest.Pooling);
            var scorer = new SaeGuardScorer(source, sae, head, manifest.Metrics, catalog.LabelOf, manifest.TopFeatures, ownsSource: true);
            return (scorer, catalog);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }
}
