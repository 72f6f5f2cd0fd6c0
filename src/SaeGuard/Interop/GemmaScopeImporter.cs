using SaeGuard.IO;
using SaeGuard.Sae;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Interop;

/// <summary>
/// Gemma Scope params.npz: W_enc [d_model, d_sae], W_dec [d_sae, d_model], b_enc, b_dec,
/// threshold. Encoding is JumpReLU of x W_enc + b_enc, without subtracting b_dec first.
/// </summary>
static class GemmaScopeImporter
{
    public static SaeModel Load(string path, SaeImportOptions o, List<string> notes)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "params.npz") : path;
        var w = NamedTensors.Load(file);
        var we = w.Get("W_enc");
        if (we.Shape.Length != 2) throw new Common.UserError($"'{file}': W_enc is {we.ShapeText()}, expected [d_model, d_sae].");
        int dIn = (int)we.Shape[0], dSae = (int)we.Shape[1];
        var full = Path.GetFullPath(file);
        var meta = new SaeMetadata { HookName = "", Layer = SaeImporter.LayerFromName(full) ?? 0 };
        notes.Add("Gemma Scope: apply_b_dec_to_input = false (the encoder sees the raw activation).");
        return SaeImporter.Build(file, dIn, dSae, SaeArchitectures.JumpRelu.Name, 0, false,
            w.Matrix("W_enc", dIn, dSae, false), w.Vector("b_enc", dSae), w.Matrix("W_dec", dSae, dIn, false),
            w.Vector("b_dec", dIn), w.Vector("threshold", dSae), meta);
    }
}
