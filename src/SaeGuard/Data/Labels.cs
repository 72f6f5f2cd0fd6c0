using SaeGuard.Common;

namespace SaeGuard.Data;

/// <summary>The two labels a prompt or a verdict carries, and how raw label columns map onto them.</summary>
public static class Labels
{
    public const string Harmful = "harmful";
    public const string Benign = "benign";

    /// <summary>Maps harmful/benign, 1/0, true/false, unsafe/safe, jailbreak to "harmful"/"benign"; empty → null.</summary>
    public static string? Normalize(string? raw, string file, long row)
    {
        if (raw == null) return null;
        var s = raw.Trim().ToLowerInvariant();
        return s switch
        {
            "" => null,
            "harmful" or "1" or "true" or "unsafe" or "jailbreak" or "yes" or "1.0" => Harmful,
            "benign" or "0" or "false" or "safe" or "harmless" or "no" or "0.0" => Benign,
            _ => throw new UserError($"{file}, row {row}: label '{raw}' is not one of harmful/benign (also accepted: 1/0, true/false, unsafe/safe)."),
        };
    }

    public static int ToInt(string? label) => label == Harmful ? 1 : 0;

    /// <summary>1 → "harmful", 0 → "benign".</summary>
    public static string FromInt(int label) => label == 1 ? Harmful : Benign;

    /// <summary>A verdict's label: harmful when the score reaches the threshold.</summary>
    public static string ForScore(double score, double threshold) => score >= threshold ? Harmful : Benign;
}
