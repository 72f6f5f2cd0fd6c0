using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGuard.Common;

namespace SaeGuard.Interop;

/// <summary>Lenient reads of foreign JSON configs (numbers may be ints or floats, fields may be absent).</summary>
static class JsonFiles
{
    public static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw new UserError($"File not found: '{path}'.");
        return Data.Formats.JsonBudget.ParseFile(path) as JsonObject ?? throw new UserError($"'{path}' is not a JSON object.");
    }

    public static JsonNode? Get(JsonNode? parent, string key) =>
        parent is JsonObject o && o.TryGetPropertyValue(key, out var n) ? n : null;

    public static int? Int(JsonNode? parent, string key) =>
        WholeNumber(Get(parent, key)) is long l and > int.MinValue and < int.MaxValue ? (int)l : null;

    /// <summary>A whole number stored as an integer or a float (2048 or 2048.0), else null.</summary>
    public static long? WholeNumber(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<long>(out var l) ? l
        : node is JsonValue d && d.TryGetValue<double>(out var x) && x == Math.Floor(x) && Math.Abs(x) < long.MaxValue ? (long)x : null;

    public static double? Double(JsonNode? parent, string key) =>
        Get(parent, key) is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    public static bool? Bool(JsonNode? parent, string key) =>
        Get(parent, key) is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    public static string? String(JsonNode? parent, string key) =>
        Get(parent, key) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
