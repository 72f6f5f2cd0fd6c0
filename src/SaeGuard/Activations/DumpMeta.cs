using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Activations;

public sealed record ShardInfo
{
    public string File { get; init; } = "";
    public long Rows { get; init; }
    public string Sha256 { get; init; } = "";
}

/// <summary>
/// meta.json of an activations or codes dump (SPEC.md "acts/"). Shards are safetensors holding
/// the rows ("acts" [rows, d], or for a sparse codes dump "topk_indices"/"topk_values" [rows, k])
/// and the token index ("doc_id", "position", "token_id" I32, "is_special" U8, each [rows]).
/// </summary>
public sealed record DumpMeta
{
    public const int CurrentFormat = 1;
    public int FormatVersion { get; init; } = CurrentFormat;
    /// <summary>"activations" or "codes".</summary>
    public string Kind { get; init; } = "activations";
    /// <summary>"dense" (tensor acts) or "sparse_topk" (topk_indices + topk_values).</summary>
    public string Layout { get; init; } = "dense";
    public string Model { get; init; } = "";
    public string ModelSha256 { get; init; } = "";
    public int Layer { get; init; }
    public string Hook { get; init; } = "resid_post";
    public int D { get; init; }
    /// <summary>Non-zeros per row for the sparse layout.</summary>
    public int? K { get; init; }
    public string Dtype { get; init; } = "f16";
    public long NTokens { get; init; }
    public int NDocs { get; init; }
    public bool SpecialTokensIncluded { get; init; } = true;
    public int MaxLength { get; init; }
    public int TruncatedDocs { get; init; }
    public List<ShardInfo> Shards { get; init; } = new();
    public string CreatedUtc { get; init; } = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
    public string ToolVersion { get; init; } = ToolInfo.Version;
    /// <summary>For codes: the SAE folder they came from and its architecture.</summary>
    public Dictionary<string, string>? Extra { get; init; }

    public static DumpMeta Load(string dir)
    {
        var path = Path.Combine(dir, "meta.json");
        if (!Directory.Exists(dir)) throw new UserError($"Dump folder not found: '{dir}'.");
        if (!File.Exists(path)) throw new UserError($"'{dir}' is not a SaeGuard dump: it has no meta.json.");
        try
        {
            return JsonSerializer.Deserialize<DumpMeta>(File.ReadAllText(path), JsonDefaults.Pretty)
                ?? throw new UserError($"'{path}' is empty.");
        }
        catch (JsonException e) { throw new UserError($"'{path}' is not valid meta.json: {e.Message}"); }
    }

    public void Save(string dir) => AtomicFile.WriteAllText(Path.Combine(dir, "meta.json"), JsonSerializer.Serialize(this, JsonDefaults.Pretty));
}
