using SaeGuard.Common;

namespace SaeGuard.Sae.Architectures;

/// <summary>
/// The registry of SAE architectures. Adding one: a new file in this folder deriving from
/// <see cref="SaeArchitecture"/>, plus one line in <see cref="All"/>.
/// </summary>
public static class SaeArchitectures
{
    public static readonly SaeArchitecture TopK = new TopKArchitecture();
    public static readonly SaeArchitecture BatchTopK = new BatchTopKArchitecture();
    public static readonly SaeArchitecture JumpRelu = new JumpReluArchitecture();
    public static readonly SaeArchitecture Relu = new ReluArchitecture();

    /// <summary>Every architecture, in the order help texts list them.</summary>
    public static readonly IReadOnlyList<SaeArchitecture> All = new[] { TopK, BatchTopK, JumpRelu, Relu };

    /// <summary>The default for training and for a new <see cref="SaeConfig"/>.</summary>
    public static SaeArchitecture Default => TopK;

    /// <summary>Names accepted by <c>train --arch</c>.</summary>
    public static IReadOnlyList<string> TrainableNames { get; } = All.Select(a => a.Name).ToArray();
    /// <summary>Names an SAE can be saved and encoded with.</summary>
    public static IReadOnlyList<string> InferenceNames { get; } = All.Where(a => a.IsInference).Select(a => a.Name).ToArray();

    /// <summary>The architecture named (SaeGuard name, SAELens name or alias; case-insensitive), or null.</summary>
    public static SaeArchitecture? Find(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        var n = name.Trim();
        foreach (var a in All)
            if (Is(a.Name, n) || Is(a.SaeLensName, n) || a.Aliases.Any(x => Is(x, n))) return a;
        return null;
    }

    /// <summary>The architecture named, or a <see cref="UserError"/> listing the known ones.</summary>
    public static SaeArchitecture Get(string? name) =>
        Find(name) ?? throw new UserError($"Unknown SAE architecture '{name}': use one of {string.Join(", ", TrainableNames)}.");

    /// <summary>The inference architecture an SAE named so encodes as (batchtopk → jumprelu), or null.</summary>
    public static SaeArchitecture? FindInference(string? name) => Find(name)?.SavedAs;

    /// <summary>SaeGuard's name for a name (aliases mapped); unknown names are returned as given.</summary>
    public static string Canonical(string name) => Find(name)?.Name ?? name;

    /// <summary>The architecture a SAELens v5 cfg without "architecture" implies from its activation_fn_str.</summary>
    public static SaeArchitecture FromActivationFn(string? activationFn) =>
        All.FirstOrDefault(a => a.IsInference && a.SaeLensActivationFn != Relu.SaeLensActivationFn && Is(a.SaeLensActivationFn, activationFn ?? "")) ?? Relu;

    /// <summary>Every accepted name of the inference architectures, for error messages.</summary>
    public static string AcceptedNames() =>
        string.Join(", ", All.Select(a => string.Join("/", new[] { a.Name, a.SaeLensName }.Concat(a.Aliases).Distinct())));

    static bool Is(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
