using SaeGuard.Common;
using SaeGuard.IO;

namespace SaeGuard.Sae;

/// <summary>
/// SAELens's <c>sparsity.safetensors</c> beside an SAE: one F32 tensor "sparsity" [d_sae] holding
/// log10 of each feature's firing density (fraction of tokens with activation &gt; 0). A feature
/// that never fired gets log10(1e-10) = −10 rather than −∞, as SAELens writes it.
/// </summary>
public static class SparsityFile
{
    public const string FileName = "sparsity.safetensors", Tensor = "sparsity";
    public const double Floor = 1e-10;

    public static float[] Log10Density(IReadOnlyList<double> firingRate) =>
        firingRate.Select(f => (float)Math.Log10(Math.Max(Floor, f))).ToArray();

    public static void Write(string path, IReadOnlyList<double> firingRate, long tokens)
    {
        var v = Log10Density(firingRate);
        new SafeTensorsWriter().Metadata("tokens", tokens.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .AddF32(Tensor, v, v.Length).Save(path);
    }

    /// <summary>The log10 densities of a sparsity file; <paramref name="dSae"/> checks the length when given.</summary>
    public static float[] Read(string path, int? dSae = null)
    {
        if (!File.Exists(path)) throw new UserError($"Sparsity file not found: '{path}'.");
        try
        {
            using var r = new SafeTensorsReader(path);
            if (!r.Tensors.TryGetValue(Tensor, out var t)) throw new UserError($"'{path}' has no tensor '{Tensor}' (SAELens sparsity file expected).");
            if (t.Shape.Length != 1 || (dSae is int m && t.Shape[0] != m))
                throw new UserError($"'{path}': tensor '{Tensor}' is [{string.Join(",", t.Shape)}], expected [{dSae?.ToString() ?? "d_sae"}].");
            return r.ReadFloats(Tensor);
        }
        catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
    }
}
