using System.Text.Json.Nodes;
using SaeGuard.Common;
using SaeGuard.Sae;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Interop;

/// <summary>
/// EleutherAI sparsify: a hookpoint folder with cfg.json (d_in, k, num_latents, …) and
/// sae.safetensors (encoder.weight [n_latents, d_in], encoder.bias, W_dec [n_latents, d_in],
/// b_dec). Encoding is TopK of ReLU(encoder(x − b_dec)).
/// </summary>
static class SparsifyImporter
{
    public static SaeModel Load(string path, SaeImportOptions o, List<string> notes)
    {
        var dir = SaeImporter.FolderOf(path);
        var cfgPath = Path.Combine(dir, "cfg.json");
        var cfg = JsonFiles.ReadObject(cfgPath);
        if (JsonFiles.Bool(cfg, "skip_connection") == true)
            throw new UserError($"'{cfgPath}': sparsify SAEs with a skip connection (W_skip) cannot be represented; only plain TopK SAEs are supported.");
        if (JsonFiles.Bool(cfg, "transcode") == true)
            throw new UserError($"'{cfgPath}': this is a sparsify transcoder (it predicts another layer's output), not an SAE.");
        var w = NamedTensors.Load(Path.Combine(dir, "sae.safetensors"));
        if (w.Has("W_skip")) throw new UserError($"'{w.Path}' has a W_skip tensor (skip connection), which cannot be represented.");
        var enc = w.Get("encoder.weight");
        if (enc.Shape.Length != 2) throw new UserError($"'{w.Path}': encoder.weight is [{string.Join(",", enc.Shape)}], expected [n_latents, d_in].");
        int dSae = (int)enc.Shape[0], dIn = (int)enc.Shape[1];
        int? cfgDIn = JsonFiles.Int(cfg, "d_in");
        if (cfgDIn != null && cfgDIn != dIn) throw new UserError($"'{cfgPath}' says d_in = {cfgDIn} but encoder.weight is [{dSae},{dIn}].");
        int k = o.K ?? JsonFiles.Int(cfg, "k") ?? throw new UserError($"'{cfgPath}' has no k; pass --k.");
        if (JsonFiles.Bool(cfg, "multi_topk") == true) notes.Add("multi_topk was used in training only; encoding uses plain TopK.");
        var hook = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
        var meta = new SaeMetadata { HookName = hook, Layer = SaeImporter.LayerFromName(hook) ?? 0 };
        return SaeImporter.Build(w.Path, dIn, dSae, SaeArchitectures.TopK.Name, k, true,
            w.Matrix("encoder.weight", dIn, dSae, storedTransposed: true), w.Vector("encoder.bias", dSae),
            w.Matrix("W_dec", dSae, dIn, storedTransposed: false), w.Vector("b_dec", dIn), null, meta);
    }
}
