using System.Text.Json.Nodes;
using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.Sae;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Interop;

/// <summary>
/// saprmarks/dictionary_learning: a folder with ae.pt (the module's state dict) and
/// config.json ({"trainer": {dict_class, activation_dim, dict_size, k, layer, lm_name, …}}).
/// Module layouts: AutoEncoder (encoder.weight [m,d], encoder.bias, decoder.weight [d,m], bias),
/// AutoEncoderTopK / BatchTopKSAE (encoder.*, decoder.weight, b_dec, k, threshold),
/// JumpReluAutoEncoder and Matryoshka SAEs (W_enc [d,m], b_enc, W_dec [m,d], b_dec, threshold).
/// dictionary_learning folds norm_factor into the saved biases, so it is recorded, not applied,
/// unless <see cref="SaeImportOptions.FoldNormFactor"/> asks for it.
/// </summary>
static class DictionaryLearningImporter
{
    public static SaeModel Load(string path, SaeImportOptions o, List<string> notes)
    {
        var dir = SaeImporter.FolderOf(path);
        var aePath = Directory.Exists(path) ? Path.Combine(dir, "ae.pt") : path;
        var cfgPath = Path.Combine(dir, "config.json");
        JsonNode? trainer = null;
        if (File.Exists(cfgPath)) trainer = JsonFiles.Get(JsonFiles.ReadObject(cfgPath), "trainer");
        else notes.Add("no config.json beside ae.pt: the module class is guessed from the tensor names.");
        var w = NamedTensors.Load(aePath);
        string cls = JsonFiles.String(trainer, "dict_class") ?? GuessClass(w);
        notes.Add($"dictionary_learning class {cls}.");
        var meta = new SaeMetadata
        {
            ModelName = JsonFiles.String(trainer, "lm_name") ?? "",
            HookName = JsonFiles.String(trainer, "submodule_name") ?? "",
            Layer = JsonFiles.Int(trainer, "layer") ?? 0,
        };
        var training = new Dictionary<string, string> { ["dict_class"] = cls };
        if (JsonFiles.String(trainer, "trainer_class") is { } tc) training["trainer_class"] = tc;
        double? normFactor = JsonFiles.Double(trainer, "norm_factor");
        if (normFactor != null) training["norm_factor"] = normFactor.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

        float[] wEnc, bEnc, wDec, bDec;
        float[]? threshold = null;
        int dIn, dSae, k = 0;
        string arch;
        bool applyBDec = true;
        if (w.Has("W_enc"))
        {
            var we = w.Get("W_enc");
            if (we.Shape.Length != 2) throw new UserError($"'{aePath}': W_enc is {we.ShapeText()}, expected [activation_dim, dict_size].");
            dIn = (int)we.Shape[0]; dSae = (int)we.Shape[1];
            wEnc = w.Matrix("W_enc", dIn, dSae, false); bEnc = w.Vector("b_enc", dSae);
            wDec = w.Matrix("W_dec", dSae, dIn, false); bDec = w.Vector("b_dec", dIn);
            if (cls.StartsWith("JumpRelu", StringComparison.OrdinalIgnoreCase))
            {
                arch = SaeArchitectures.JumpRelu.Name;
                threshold = w.Vector("threshold", dSae);
                applyBDec = JsonFiles.Bool(trainer, "apply_b_dec_to_input") ?? false;
            }
            else (arch, k, threshold) = TopKOrThreshold(w, cls, dSae, trainer, notes);
        }
        else
        {
            var we = w.Get("encoder.weight");
            if (we.Shape.Length != 2) throw new UserError($"'{aePath}': encoder.weight is {we.ShapeText()}, expected [dict_size, activation_dim].");
            dSae = (int)we.Shape[0]; dIn = (int)we.Shape[1];
            wEnc = w.Matrix("encoder.weight", dIn, dSae, storedTransposed: true);
            bEnc = w.Vector("encoder.bias", dSae);
            wDec = w.Matrix("decoder.weight", dSae, dIn, storedTransposed: true);
            if (cls.StartsWith("Gated", StringComparison.OrdinalIgnoreCase) || w.Has("r_mag"))
                throw new UserError($"'{aePath}': gated SAEs ({cls}) cannot be represented (SaeGuard supports topk, jumprelu and relu).");
            if (w.Has("b_dec"))
            {
                bDec = w.Vector("b_dec", dIn);
                (arch, k, threshold) = TopKOrThreshold(w, cls, dSae, trainer, notes);
            }
            else
            {
                bDec = w.Vector("bias", dIn);
                arch = SaeArchitectures.Relu.Name;
            }
        }
        if (o.FoldNormFactor)
        {
            if (normFactor is not { } nf) throw new UserError($"'{cfgPath}' has no trainer.norm_factor to fold in.");
            Scale(bEnc, nf); Scale(bDec, nf);
            if (threshold != null) Scale(threshold, nf);
            notes.Add($"biases and threshold multiplied by norm_factor {nf}.");
        }
        else if (normFactor is { } nf && nf != 1)
            notes.Add($"norm_factor {nf} recorded, not applied (dictionary_learning folds it in when saving; use --fold-norm-factor for checkpoints saved without it).");
        if (arch == SaeArchitectures.TopK.Name) k = o.K ?? k;
        return SaeImporter.Build(aePath, dIn, dSae, arch, k, applyBDec, wEnc, bEnc, wDec, bDec, threshold, meta, training);
    }

    static void Scale(float[] v, double f)
    {
        for (int i = 0; i < v.Length; i++) v[i] = (float)(v[i] * f);
    }

    /// <summary>
    /// AutoEncoderTopK encodes per token with its k; BatchTopK and Matryoshka SAEs encode with
    /// their learned global threshold (use_threshold=True), i.e. a JumpReLU with one threshold.
    /// </summary>
    static (string Arch, int K, float[]? Threshold) TopKOrThreshold(NamedTensors w, string cls, int dSae, JsonNode? trainer, List<string> notes)
    {
        int k = w.Has("k") ? (int)w.Get("k").Scalar() : JsonFiles.Int(trainer, "k") ?? 0;
        bool batch = cls.Contains("BatchTopK", StringComparison.OrdinalIgnoreCase) || cls.Contains("Matryoshka", StringComparison.OrdinalIgnoreCase);
        if (batch && w.Has("threshold"))
        {
            var t = w.Get("threshold");
            double thr = t.Elements() == 1 ? t.Scalar() : double.NaN;
            if (thr >= 0)
            {
                notes.Add($"{cls}: encoded with its global threshold {thr:G6} (use_threshold=True), as jumprelu.");
                return (SaeArchitectures.JumpRelu.Name, k, Enumerable.Repeat((float)thr, dSae).ToArray());
            }
            notes.Add($"{cls}: threshold was never learned ({thr}); encoding per-token TopK with k = {k}.");
        }
        if (k > 0) return (SaeArchitectures.TopK.Name, k, null);
        return (SaeArchitectures.Relu.Name, 0, null);
    }

    static string GuessClass(NamedTensors w) =>
        w.Has("W_enc") ? (w.Has("threshold") && w.Get("threshold").Elements() > 1 ? "JumpReluAutoEncoder" : "BatchTopKSAE")
        : w.Has("b_dec") ? "AutoEncoderTopK" : "AutoEncoder";
}
