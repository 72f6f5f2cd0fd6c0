using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGuard.Common;
using SaeGuard.IO;

namespace SaeGuard.Sae;

/// <summary>
/// Reads and writes the SAELens folder layout: cfg.json + sae_weights.safetensors
/// (W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec, threshold for jumprelu).
/// cfg.json carries v6 fields (architecture, metadata{…}) and v5 ones (model_name, hook_name,
/// hook_layer, activation_fn_kwargs) so both SAELens generations load it.
/// </summary>
public static class SaeLensFormat
{
    public const string CfgFile = "cfg.json";
    public const string WeightsFile = "sae_weights.safetensors";

    public static string ArchToSaeLens(string arch) => arch == "relu" ? "standard" : arch;
    public static string ArchFromSaeLens(string arch) => arch switch
    {
        "standard" or "relu" => "relu",
        "topk" => "topk",
        "jumprelu" or "batchtopk" => "jumprelu",
        _ => arch,
    };

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
        var cfg = new JsonObject
        {
            ["architecture"] = ArchToSaeLens(c.Architecture),
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
                ["sae_lens_training_version"] = null,
                ["tool"] = "saeguard " + ToolInfo.Version,
            },
            ["model_name"] = c.Metadata.ModelName,
            ["hook_name"] = c.Metadata.HookName,
            ["hook_layer"] = c.Metadata.Layer,
            ["activation_fn_str"] = c.Architecture == "topk" ? "topk" : "relu",
        };
        if (c.Architecture == "topk")
        {
            cfg["k"] = c.K;
            cfg["activation_fn_kwargs"] = new JsonObject { ["k"] = c.K };
        }
        if (c.Training.Count > 0)
        {
            var t = new JsonObject();
            foreach (var (k, v) in c.Training) t[k] = v;
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
        var dIn = Int(root["d_in"]) ?? throw new UserError($"'{cfgPath}' has no d_in.");
        var dSae = Int(root["d_sae"]) ?? throw new UserError($"'{cfgPath}' has no d_sae.");
        var archRaw = root["architecture"]?.GetValue<string>() ?? (root["activation_fn_str"]?.GetValue<string>() == "topk" ? "topk" : "standard");
        var arch = ArchFromSaeLens(archRaw);
        int k = Int(root["k"]) ?? Int(root["activation_fn_kwargs"]?["k"]) ?? 0;
        if (arch is not ("relu" or "topk" or "jumprelu"))
            throw new UserError($"'{cfgPath}': architecture '{archRaw}' is not supported (standard/relu, topk, jumprelu, batchtopk).");
        var training = new Dictionary<string, string>();
        if (root["saeguard_training"] is JsonObject tr) foreach (var (kk, vv) in tr) training[kk] = vv?.ToString() ?? "";
        var config = new SaeConfig
        {
            DIn = dIn, DSae = dSae, Architecture = arch, K = k,
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
        if (arch == "jumprelu" && threshold == null) throw new UserError($"'{wPath}': a jumprelu SAE needs a 'threshold' tensor.");
        return new SaeModel(config, Tensor("W_enc", dIn, dSae), Tensor("b_enc", dSae), Tensor("W_dec", dSae, dIn), Tensor("b_dec", dIn), threshold);
    }
}
