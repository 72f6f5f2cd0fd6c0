using System.Text.Json;
using System.Text.Json.Serialization;
using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.Sae;

namespace SaeGuard.Probes;

/// <summary>span_guard.json of a span-guard folder: how it decides, its threshold, calibration, metrics and data card.</summary>
public sealed record SpanGuardManifest
{
    public const string FileName = "span_guard.json";
    public const string WeightsFile = "probes.safetensors";
    public const string SaeFolder = "sae";

    public int FormatVersion { get; init; } = 1;
    public string Kind { get; init; } = "span-guard";
    public string Model { get; init; } = "minilm";
    public int Layer { get; init; } = 4;
    public int MaxLength { get; init; } = 256;
    public int SpanLength { get; init; } = 16;
    /// <summary>How tokens are weighted in span and window means ("none", or how probes.safetensors' token_weights were made).</summary>
    public string TokenWeighting { get; init; } = "none";
    /// <summary>Logit at or above which a text is harmful (95 % out-of-fold recall on plain harmful training prompts).</summary>
    public double ThresholdLogit { get; init; }
    /// <summary>The same threshold on the calibrated (Platt) probability scale.</summary>
    public double Threshold { get; init; }
    public double PlattA { get; init; } = 1;
    public double PlattB { get; init; }
    public int Seed { get; init; }
    public string CreatedUtc { get; init; } = "";
    /// <summary>Feature labels (top tokens), one per SAE feature.</summary>
    public List<string> Labels { get; init; } = new();
    /// <summary>Figures by split name (cv_train, val, test) → metric → value.</summary>
    public Dictionary<string, Dictionary<string, double>> Metrics { get; init; } = new();
    /// <summary>Training rows by kind.</summary>
    public Dictionary<string, int> TrainingRows { get; init; } = new();
    public string Recipe { get; init; } = "";
}

/// <summary>Reads and writes a span-guard folder: span_guard.json, probes.safetensors (span_v, span_b, window_v, window_b,
/// optional token_weights [vocabulary]; F64) and sae/ (SAELens).</summary>
public static class SpanGuardBundle
{
    static readonly JsonSerializerOptions Json = new(JsonDefaults.Pretty) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static void Write(string dir, SpanGuardModel model, SpanGuardManifest manifest)
    {
        using var outDir = new AtomicDirectory(dir);
        File.WriteAllText(outDir.File(SpanGuardManifest.FileName), JsonSerializer.Serialize(manifest, Json));
        var w = new SafeTensorsWriter();
        w.AddF64("span_v", model.SpanV, model.D);
        w.AddF64("span_b", new[] { model.SpanOffset }, 1);
        w.AddF64("window_v", model.WindowV, model.D);
        w.AddF64("window_b", new[] { model.WindowOffset }, 1);
        if (model.TokenWeights != null) w.AddF64("token_weights", model.TokenWeights, model.TokenWeights.Length);
        using (var fs = File.Create(outDir.File(SpanGuardManifest.WeightsFile))) w.WriteTo(fs);
        Directory.CreateDirectory(outDir.File(SpanGuardManifest.SaeFolder));
        SaeLensFormat.WriteInto(model.Sae, outDir.File(SpanGuardManifest.SaeFolder));
        outDir.Commit();
    }

    public static (SpanGuardModel Model, SpanGuardManifest Manifest) Read(string dir)
    {
        var path = Path.Combine(dir, SpanGuardManifest.FileName);
        if (!File.Exists(path)) throw new UserError($"'{dir}' is not a span-guard folder: it has no {SpanGuardManifest.FileName}.");
        SpanGuardManifest m;
        try { m = JsonSerializer.Deserialize<SpanGuardManifest>(File.ReadAllText(path), Json) ?? throw new UserError($"'{path}' is empty."); }
        catch (JsonException e) { throw new UserError($"'{path}' is not a valid span_guard.json: {e.Message}"); }
        if (m.FormatVersion != 1 || m.Kind != "span-guard") throw new UserError($"'{path}': expected kind span-guard, format_version 1.");
        var sae = SaeLensFormat.Load(Path.Combine(dir, SpanGuardManifest.SaeFolder));
        var weights = Path.Combine(dir, SpanGuardManifest.WeightsFile);
        if (!File.Exists(weights)) throw new UserError($"Span-guard folder '{dir}' is missing '{SpanGuardManifest.WeightsFile}'.");
        using var r = new SafeTensorsReader(weights);
        double[] F64(string name, int n)
        {
            var t = r.Tensors.TryGetValue(name, out var ti) ? ti : throw new UserError($"'{weights}' has no tensor '{name}'.");
            if (t.DType != DType.F64 || t.Elements != n) throw new UserError($"'{weights}': tensor '{name}' should be F64 [{n}].");
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(r.ReadBytes(name)).ToArray();
        }
        double[]? tokenWeights = null;
        if (r.Tensors.TryGetValue("token_weights", out var tw))
        {
            if (tw.DType != DType.F64 || tw.Shape.Length != 1) throw new UserError($"'{weights}': tensor 'token_weights' should be F64 [vocabulary size].");
            tokenWeights = F64("token_weights", (int)tw.Elements);
            if (tokenWeights.Any(v => !(v > 0) || double.IsInfinity(v))) throw new UserError($"'{weights}': tensor 'token_weights' holds a weight that is not positive and finite.");
        }
        var model = new SpanGuardModel(m.SpanLength, F64("span_v", sae.DIn), F64("span_b", 1)[0], F64("window_v", sae.DIn), F64("window_b", 1)[0], sae, m.Labels, tokenWeights);
        return (model, m);
    }
}
