using System.Text.Json;
using System.Text.Json.Serialization;

namespace SaeGuard.Common;

/// <summary>
/// The small file every SaeGuard output folder carries (<c>.saeguard-output</c>): which kind of
/// output it is, so a later run may replace it (and only it) without --force.
/// </summary>
public sealed record OutputMarker
{
    public const string FileName = ".saeguard-output";

    [JsonPropertyName("kind")] public string Kind { get; init; } = "";
    [JsonPropertyName("written_by")] public string WrittenBy { get; init; } = "saeguard";

    /// <summary>The marker of <paramref name="dir"/>, or null when it has none (or an unreadable one).</summary>
    public static OutputMarker? Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > 4096) return null;
            var m = JsonSerializer.Deserialize<OutputMarker>(File.ReadAllBytes(path));
            return m is { WrittenBy: "saeguard" } && m.Kind.Length > 0 ? m : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }

    public static void Write(string dir, string kind) =>
        File.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(new OutputMarker { Kind = kind }) + "\n");
}
