using System.Runtime.InteropServices;
using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.IO;

namespace SaeGuard.Probes;

/// <summary>One probe's entry in probe.json.</summary>
public sealed record ProbeEntry
{
    public string Description { get; init; } = "";
    /// <summary>Score (probability) at or above which a prompt is labelled harmful.</summary>
    public double Threshold { get; init; }
    /// <summary>The rule that set it: the threshold giving this TPR on out-of-fold training scores.</summary>
    public double ThresholdTargetTpr { get; init; }
    public double ThresholdOofTpr { get; init; }
    public double ThresholdOofFpr { get; init; }
    public int NFeaturesUsed { get; init; }
    public double? C { get; init; }
    public double CvAuroc { get; init; }
}

/// <summary>probe.json: everything classify and serve need to turn text into a score.</summary>
public sealed record ProbeManifest
{
    public const string FileName = "probe.json";
    public const string WeightsFile = "probe_weights.safetensors";
    public const string FeaturesFile = "features.json";
    public const string SaeFolder = "sae";

    public int FormatVersion { get; init; } = 1;
    public string ToolVersion { get; init; } = ToolInfo.Version;
    public string CreatedUtc { get; init; } = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
    /// <summary>"minilm" (built in) or the model file's path.</summary>
    public string Model { get; init; } = "";
    public string ModelName { get; init; } = "";
    public string ModelSha256 { get; init; } = "";
    public int Layer { get; init; }
    public string Hook { get; init; } = "resid_post";
    /// <summary>The ONNX tensor captured instead of a layer output (extract --hook-tensor), if any.</summary>
    public string? HookTensor { get; init; }
    public int MaxLength { get; init; }
    /// <summary>Storage type of the training activations; "f16" makes classify round activations the same way.</summary>
    public string ActsDtype { get; init; } = "f16";
    public int D { get; init; }
    public string Pooling { get; init; } = "mean";
    public string Sae { get; init; } = SaeFolder;
    public int DSae { get; init; }
    public string SaeArchitecture { get; init; } = "";
    /// <summary>The probe classify uses unless told otherwise.</summary>
    public string Decision { get; init; } = ProbeKinds.Hybrid;
    public Dictionary<string, ProbeEntry> Probes { get; init; } = new();
    public string Weights { get; init; } = WeightsFile;
    public string Features { get; init; } = FeaturesFile;
    public int NPerClass { get; init; }
    public int Folds { get; init; }
    public int Seed { get; init; }
    public bool LengthMatched { get; init; }
    public string? Labels { get; init; }
    public List<string> Acts { get; init; } = new();

    public static ProbeManifest Load(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!Directory.Exists(dir)) throw new UserError($"Probe folder not found: '{dir}'.");
        if (!File.Exists(path)) throw new UserError($"'{dir}' is not a probe folder: it has no {FileName} (run 'saeguard probe' first).");
        try
        {
            var m = JsonSerializer.Deserialize<ProbeManifest>(File.ReadAllText(path), JsonDefaults.Pretty)
                ?? throw new UserError($"'{path}' is empty.");
            if (m.FormatVersion != 1) throw new UserError($"'{path}': format_version {m.FormatVersion} is not supported (expected 1).");
            return m;
        }
        catch (JsonException e) { throw new UserError($"'{path}' is not a valid probe.json: {e.Message}"); }
    }
}

/// <summary>The three fitted probes' weights in probe_weights.safetensors ({kind}_mean, _scale, _w, _b).</summary>
public static class ProbeWeights
{
    public static void Write(string path, IReadOnlyDictionary<string, LinearProbe> probes)
    {
        var w = new SafeTensorsWriter();
        foreach (var (kind, p) in probes.OrderBy(k => k.Key))
        {
            w.AddF32($"{kind}_mean", p.Standardizer.Mean, p.Width);
            w.AddF32($"{kind}_scale", p.Standardizer.Scale, p.Width);
            w.Add($"{kind}_w", DType.F64, new long[] { p.Width }, MemoryMarshal.AsBytes(p.W.AsSpan()).ToArray());
            w.Add($"{kind}_b", DType.F64, new long[] { 1 }, BitConverter.GetBytes(p.B));
        }
        using var fs = File.Create(path);
        w.WriteTo(fs);
    }

    public static LinearProbe Read(string path, string kind, int width, double? c)
    {
        try
        {
            using var r = new SafeTensorsReader(path);
            float[] F32(string name)
            {
                var t = r.Tensors.TryGetValue(name, out var ti) ? ti : throw new UserError($"'{path}' has no tensor '{name}'.");
                if (t.Elements != width) throw new UserError($"'{path}': tensor '{name}' has {t.Elements} values, expected {width}.");
                return r.ReadFloats(name);
            }
            double[] F64(string name, int n)
            {
                var t = r.Tensors.TryGetValue(name, out var ti) ? ti : throw new UserError($"'{path}' has no tensor '{name}'.");
                if (t.DType != DType.F64 || t.Elements != n) throw new UserError($"'{path}': tensor '{name}' should be F64 [{n}].");
                return MemoryMarshal.Cast<byte, double>(r.ReadBytes(name)).ToArray();
            }
            var std = new Standardizer(F32($"{kind}_mean"), F32($"{kind}_scale"));
            return new LinearProbe(std, F64($"{kind}_w", width), F64($"{kind}_b", 1)[0], c ?? 1.0);
        }
        catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
    }
}
