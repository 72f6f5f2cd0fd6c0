using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Sae;

/// <summary>
/// Reads and writes the SAELens folder layout: cfg.json + sae_weights.safetensors
/// (W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec, threshold for jumprelu).
/// cfg.json carries v6 fields (architecture, metadata{…, sae_lens_version, context_size,
/// prepend_bos}) and v5 ones (model_name, hook_name, hook_layer, context_size, prepend_bos,
/// activation_fn_kwargs) so both SAELens generations load it; numbers are JSON numbers.
/// </summary>
public static class SaeLensFormat
{
    public const string CfgFile = "cfg.json";
    public const string WeightsFile = "sae_weights.safetensors";
    /// <summary>The SAELens config generation our cfg.json follows (metadata.sae_lens_version); the
    /// writing tool is named separately in metadata.tool.</summary>
    public const string SaeLensVersion = "6.0.0";

    public static string ArchToSaeLens(string arch) => SaeArchitectures.Find(arch)?.SaeLensName ?? arch;
    public static string ArchFromSaeLens(string arch) => SaeArchitectures.FindInference(arch)?.Name ?? arch;

    public static void Save(SaeModel sae, string dir)
    {
        using var outDir = new AtomicDirectory(dir);
        WriteInto(sae, outDir.TempPath);
        outDir.Commit();
    }

    /// <summary>Writes cfg.json + weights into an existing folder (caller handles atomicity).</summary>
    public static void WriteInto(SaeModel sae, string dir)
    {
        var c = sae.Config;
        var arch = sae.Arch;
        var cfg = new JsonObject
        {
            ["architecture"] = arch.SaeLensName,
            ["d_in"] = c.DIn,
            ["d_sae"] = c.DSae,
            ["dtype"] = c.Dtype,
            ["device"] = "cpu",
            ["apply_b_dec_to_input"] = c.ApplyBDecToInput,
            ["normalize_activations"] = c.NormalizeActivations,
            ["reshape_activations"] = "none",
            ["metadata"] = new JsonObject
            {
                ["model_name"] = c.Metadata.ModelName,
                ["hook_name"] = c.Metadata.HookName,
                ["layer"] = c.Metadata.Layer,
                ["hook_layer"] = c.Metadata.Layer,
                ["model_sha256"] = c.Metadata.ModelSha256,
                ["train_activation_norm"] = c.Metadata.TrainActivationNorm,
                ["dataset_path"] = c.Metadata.Dataset,
                ["training_tokens"] = c.Metadata.TrainingTokens,
                ["context_size"] = c.Metadata.ContextSize,
                ["prepend_bos"] = c.Metadata.PrependBos,
                ["sae_lens_version"] = SaeLensVersion,
                ["sae_lens_training_version"] = null,
                ["tool"] = "saeguard " + ToolInfo.Version,
            },
            ["model_name"] = c.Metadata.ModelName,
            ["hook_name"] = c.Metadata.HookName,
            ["hook_layer"] = c.Metadata.Layer,
            ["context_size"] = c.Metadata.ContextSize,
            ["prepend_bos"] = c.Metadata.PrependBos,
            ["activation_fn_str"] = arch.SaeLensActivationFn,
        };
        if (arch.FixedKPerToken)
        {
            cfg["k"] = c.K;
            cfg["activation_fn_kwargs"] = new JsonObject { ["k"] = c.K };
        }
        if (c.Training.Count > 0)
        {
            var t = new JsonObject();
            foreach (var (k, v) in c.Training) t[k] = TypedValue(v);
            cfg["saeguard_training"] = t;
        }
        File.WriteAllText(Path.Combine(dir, CfgFile), cfg.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var w = new SafeTensorsWriter()
            .AddF32("W_enc", sae.WEnc, c.DIn, c.DSae)
            .AddF32("b_enc", sae.BEnc, c.DSae)
            .AddF32("W_dec", sae.WDec, c.DSae, c.DIn)
            .AddF32("b_dec", sae.BDec, c.DIn);
        if (sae.Threshold != null) w.AddF32("threshold", sae.Threshold, c.DSae);
        using var fs = File.Create(Path.Combine(dir, WeightsFile));
        w.WriteTo(fs);
    }

    /// <summary>A training value as JSON: a number or boolean when the text is one (written as is, so it
    /// reads back as the same text), else a string.</summary>
    static JsonNode? TypedValue(string v)
    {
        if (v is "true" or "false") return JsonValue.Create(v == "true");
        if (v.Length > 0 && (char.IsAsciiDigit(v[0]) || v[0] == '-')
            && double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            try
            {
                if (JsonNode.Parse(v) is JsonValue n && n.GetValueKind() == JsonValueKind.Number) return n;
            }
            catch (JsonException) { } // e.g. "01" or "1." are numbers to .NET, not to JSON
        }
        return JsonValue.Create(v);
    }

    public static SaeModel Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new UserError($"SAE folder not found: '{dir}'.");
        var cfgPath = Path.Combine(dir, CfgFile);
        var wPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(cfgPath)) throw new UserError($"'{dir}' is not an SAELens SAE folder: no {CfgFile}.");
        if (!File.Exists(wPath)) throw new UserError($"'{dir}' is not an SAELens SAE folder: no {WeightsFile}.");
        JsonNode root;
        try { root = JsonNode.Parse(File.ReadAllText(cfgPath)) ?? throw new UserError($"'{cfgPath}' is empty."); }
        catch (JsonException e) { throw new UserError($"'{cfgPath}' is not valid JSON: {e.Message}"); }
        var meta = root["metadata"] as JsonObject;
        string? Str(string key) => (meta?[key] ?? root[key]) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        int? Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<int>(out var i) ? i : (n is JsonValue v2 && v2.TryGetValue<double>(out var dd) ? (int)dd : null);
        double? Dbl(string key) => (meta?[key] ?? root[key]) is JsonValue v && v.TryGetValue<double>(out var x) ? x : null;
        bool? Bool(string key) => (meta?[key] ?? root[key]) is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
        long? Long(string key) => (meta?[key] ?? root[key]) is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var x) ? (long)x : null;
        var dIn = Int(root["d_in"]) ?? throw new UserError($"'{cfgPath}' has no d_in.");
        var dSae = Int(root["d_sae"]) ?? throw new UserError($"'{cfgPath}' has no d_sae.");
        var archRaw = root["architecture"]?.GetValue<string>();
        var arch = archRaw == null ? SaeArchitectures.FromActivationFn(root["activation_fn_str"]?.GetValue<string>())
            : SaeArchitectures.FindInference(archRaw)
              ?? throw new UserError($"'{cfgPath}': architecture '{archRaw}' is not supported ({SaeArchitectures.AcceptedNames()}).");
        int k = Int(root["k"]) ?? Int(root["activation_fn_kwargs"]?["k"]) ?? 0;
        var training = new Dictionary<string, string>();
        if (root["saeguard_training"] is JsonObject tr)
            foreach (var (kk, vv) in tr)
                training[kk] = vv is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : vv?.ToJsonString() ?? "";
        var config = new SaeConfig
        {
            DIn = dIn, DSae = dSae, Architecture = arch.Name, K = k,
            ApplyBDecToInput = root["apply_b_dec_to_input"]?.GetValue<bool>() ?? true,
            NormalizeActivations = root["normalize_activations"] is JsonValue nv && nv.TryGetValue<string>(out var ns) ? ns : "none",
            Dtype = root["dtype"]?.ToString() ?? "float32",
            Metadata = new SaeMetadata
            {
                ModelName = Str("model_name") ?? "",
                HookName = Str("hook_name") ?? "",
                Layer = Int(meta?["layer"]) ?? Int(meta?["hook_layer"]) ?? Int(root["hook_layer"]) ?? 0,
                ModelSha256 = Str("model_sha256"),
                TrainActivationNorm = Dbl("train_activation_norm"),
                Dataset = Str("dataset_path"),
                TrainingTokens = Long("training_tokens"),
                ContextSize = Long("context_size") is long cs ? (int)cs : null,
                PrependBos = Bool("prepend_bos"),
            },
            Training = training,
        };
        using var r = new SafeTensorsReader(wPath);
        float[] Tensor(string name, params long[] shape)
        {
            if (!r.Tensors.TryGetValue(name, out var t))
                throw new UserError($"'{wPath}' has no tensor '{name}' (it has: {string.Join(", ", r.Tensors.Keys)}).");
            if (!t.Shape.SequenceEqual(shape))
                throw new UserError($"'{wPath}': tensor '{name}' is [{string.Join(",", t.Shape)}], expected [{string.Join(",", shape)}] from cfg.json.");
            return r.ReadFloats(name);
        }
        var threshold = r.Tensors.ContainsKey("threshold") ? Tensor("threshold", dSae) : null;
        if (arch.NeedsThreshold && threshold == null) throw new UserError($"'{wPath}': a {arch.Name} SAE needs a 'threshold' tensor.");
        return new SaeModel(config, Tensor("W_enc", dIn, dSae), Tensor("b_enc", dSae), Tensor("W_dec", dSae, dIn), Tensor("b_dec", dIn), threshold);
    }
}
