using System.Text.Json.Serialization;
using SaeGuard.Common;

namespace SaeGuard.Probes;

/// <summary>The probes SaeGuard trains and compares.</summary>
public static class ProbeKinds
{
    /// <summary>L1 logistic regression on pooled SAE codes (at most <see cref="ProbeSettings.MaxSaeFeatures"/> features).</summary>
    public const string Sae = "sae";
    /// <summary>k SAE features by class-mean difference, then L2 logistic regression.</summary>
    public const string SaeTopK = "sae_topk";
    /// <summary>L2 logistic regression on pooled raw activations.</summary>
    public const string Dense = "dense";
    /// <summary>The dense probe's decision, explained on SAE features.</summary>
    public const string Hybrid = "hybrid";

    public static readonly string[] All = { Sae, SaeTopK, Dense, Hybrid };
    public static readonly string[] Fitted = { Sae, SaeTopK, Dense };

    public static string Parse(string s)
    {
        var k = s.Trim().ToLowerInvariant().Replace('-', '_');
        if (k == "topk") k = SaeTopK;
        return All.Contains(k) ? k : throw new UserError($"Unknown probe '{s}': expected {string.Join(", ", All)}.");
    }
}
