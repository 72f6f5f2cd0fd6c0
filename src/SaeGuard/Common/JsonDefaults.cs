using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SaeGuard.Common;

public static class JsonDefaults
{
    /// <summary>snake_case, indented; for meta.json, cfg.json, metrics.json.</summary>
    public static readonly JsonSerializerOptions Pretty = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>snake_case, one line; for JSONL.</summary>
    public static readonly JsonSerializerOptions Line = new(Pretty) { WriteIndented = false };
}
