using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Probes;

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
