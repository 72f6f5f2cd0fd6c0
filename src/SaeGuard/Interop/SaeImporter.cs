using SaeGuard.Common;
using SaeGuard.Sae;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Interop;

/// <summary>
/// Loads an SAE made by another library into <see cref="SaeModel"/>: SAELens folders,
/// sparsify folders, dictionary_learning ae.pt + config.json, Gemma Scope params.npz, and plain
/// state dicts (.pt / .safetensors / .npz) with a key mapping. Nothing is executed while loading.
/// </summary>
public static class SaeImporter
{
    public static SaeModel Load(string path, SaeImportOptions? options = null) => Import(path, options).Sae;

    public static SaeImportResult Import(string path, SaeImportOptions? options = null)
    {
        options ??= new SaeImportOptions();
        if (!File.Exists(path) && !Directory.Exists(path)) throw new UserError($"SAE not found: '{path}'.");
        var format = options.Format == "auto" ? Detect(path) : options.Format;
        var notes = new List<string>();
        SaeModel sae = format switch
        {
            "saelens" => SaeLensFormat.Load(FolderOf(path)),
            "sparsify" => SparsifyImporter.Load(path, options, notes),
            "dictionary_learning" => DictionaryLearningImporter.Load(path, options, notes),
            "gemmascope" => GemmaScopeImporter.Load(path, options, notes),
            "state_dict" => StateDictImporter.Load(path, options, notes),
            _ => throw new UserError($"Unknown SAE format '{format}' (expected one of: {string.Join(", ", SaeImportOptions.Formats)})."),
        };
        sae = ApplyOverrides(sae, options, format, path, notes);
        return new SaeImportResult(sae, format, path, notes);
    }

    /// <summary>Which importer a path needs, from the files it holds.</summary>
    public static string Detect(string path)
    {
        bool Has(string dir, string file) => File.Exists(System.IO.Path.Combine(dir, file));
        if (Directory.Exists(path))
        {
            if (Has(path, SaeLensFormat.CfgFile) && Has(path, SaeLensFormat.WeightsFile)) return "saelens";
            if (Has(path, "cfg.json") && Has(path, "sae.safetensors")) return "sparsify";
            if (Has(path, "ae.pt")) return "dictionary_learning";
            if (Has(path, "params.npz")) return "gemmascope";
            var hookpoints = Directory.GetDirectories(path).Where(d => Has(d, "sae.safetensors") || Has(d, SaeLensFormat.WeightsFile) || Has(d, "ae.pt")).ToList();
            if (hookpoints.Count > 0)
                throw new UserError($"'{path}' holds several SAEs; pass one of its folders: {string.Join(", ", hookpoints.Select(System.IO.Path.GetFileName))}.");
            throw new UserError($"'{path}' is not a known SAE folder: expected cfg.json + sae_weights.safetensors (SAELens), cfg.json + sae.safetensors (sparsify), ae.pt (dictionary_learning) or params.npz (Gemma Scope).");
        }
        var name = System.IO.Path.GetFileName(path);
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (name == SaeLensFormat.WeightsFile && Has(dir, SaeLensFormat.CfgFile)) return "saelens";
        if (name == "sae.safetensors" && Has(dir, "cfg.json")) return "sparsify";
        if (name == "ae.pt" && Has(dir, "config.json")) return "dictionary_learning";
        if (name == "params.npz") return "gemmascope";
        return "state_dict";
    }

    static SaeModel ApplyOverrides(SaeModel sae, SaeImportOptions o, string format, string path, List<string> notes)
    {
        var c = sae.Config;
        var a = o.Architecture == null ? sae.Arch : SaeArchitectures.FindInference(o.Architecture)
            ?? throw new UserError($"--arch must be {string.Join(", ", SaeArchitectures.InferenceNames)}, got '{o.Architecture}'.");
        var arch = a.Name;
        int k = o.K ?? c.K;
        if (a.FixedKPerToken && k <= 0) throw new UserError($"'{path}' gives no k for its TopK activation; pass --k.");
        var training = new Dictionary<string, string>(c.Training) { ["imported_from"] = format };
        var config = c with
        {
            Architecture = arch,
            K = a.FixedKPerToken ? k : c.K,
            ApplyBDecToInput = o.ApplyBDecToInput ?? c.ApplyBDecToInput,
            Metadata = c.Metadata with
            {
                ModelName = o.ModelName ?? c.Metadata.ModelName,
                HookName = o.HookName ?? c.Metadata.HookName,
                Layer = o.Layer ?? c.Metadata.Layer,
            },
            Training = training,
        };
        if (a.NeedsThreshold && sae.Threshold == null) throw new UserError($"'{path}' has no threshold, so it cannot be used as {arch}.");
        return new SaeModel(config, sae.WEnc, sae.BEnc, sae.WDec, sae.BDec, sae.Threshold);
    }

    /// <summary>The folder itself, or the folder holding a file.</summary>
    internal static string FolderOf(string path) =>
        Directory.Exists(path) ? path : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;

    /// <summary>A layer number from names like "layers.4", "layer_20", "blocks.3.hook_resid_post".</summary>
    internal static int? LayerFromName(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, @"(?<![a-z])(?:layers?|blocks?|h)[._/-]?(\d+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        return m.Success && int.TryParse(m.Groups[1].Value, out var l) ? l : null;
    }

    internal static SaeModel Build(string where, int dIn, int dSae, string arch, int k, bool applyBDec,
        float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[]? threshold, SaeMetadata meta, Dictionary<string, string>? training = null)
    {
        var config = new SaeConfig
        {
            DIn = dIn, DSae = dSae, Architecture = arch, K = k, ApplyBDecToInput = applyBDec,
            Metadata = meta, Training = training ?? new Dictionary<string, string>(),
        };
        try { return new SaeModel(config, wEnc, bEnc, wDec, bDec, threshold); }
        catch (UserError e) { throw new UserError($"'{where}': {e.Message}"); }
    }
}
