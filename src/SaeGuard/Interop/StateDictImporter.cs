using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.IO.Pickle;
using SaeGuard.Sae;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Interop;

/// <summary>
/// A plain state dict (.pt, .safetensors or .npz), possibly nested in a training checkpoint
/// ({"model_state_dict": …, "optimizer_state_dict": …}). Tensors are found by common names —
/// W_enc | encoder.weight (transposed), b_enc | encoder.bias, W_dec | decoder.weight
/// (transposed), b_dec | decoder.bias | bias, threshold | log_threshold — under one prefix, or
/// given explicitly with <see cref="SaeImportOptions.KeyMap"/> ("W_enc=enc.w.T").
/// </summary>
static class StateDictImporter
{
    // SaeGuard name → candidate names, each with whether the file stores it transposed
    static readonly Dictionary<string, (string Name, bool Transposed)[]> Candidates = new()
    {
        ["W_enc"] = new[] { ("W_enc", false), ("encoder.weight", true), ("enc.weight", true), ("W_e", false) },
        ["b_enc"] = new[] { ("b_enc", false), ("encoder.bias", false), ("enc.bias", false), ("b_e", false) },
        ["W_dec"] = new[] { ("W_dec", false), ("decoder.weight", true), ("dec.weight", true), ("W_d", false) },
        ["b_dec"] = new[] { ("b_dec", false), ("decoder.bias", false), ("dec.bias", false), ("pre_bias", false), ("bias", false), ("b_d", false) },
        ["threshold"] = new[] { ("threshold", false), ("log_threshold", false) },
    };

    sealed record Source(string Key, bool Transposed);

    public static SaeModel Load(string path, SaeImportOptions o, List<string> notes)
    {
        if (Directory.Exists(path)) throw new UserError($"'{path}' is a folder; pass the state-dict file itself (.pt, .safetensors or .npz).");
        var w = NamedTensors.Load(path);
        var found = Resolve(w, o, notes);
        var src = found["W_enc"] ?? throw new UserError($"'{path}': no encoder weight found (looked for {Names("W_enc")}; it has: {string.Join(", ", w.Tensors.Keys.Take(40))}). Map it with --map W_enc=KEY[.T].");
        var we = w.Get(src.Key);
        if (we.Shape.Length != 2) throw new UserError($"'{path}': '{src.Key}' is {we.ShapeText()}, expected a matrix.");
        int dIn = (int)(src.Transposed ? we.Shape[1] : we.Shape[0]);
        int dSae = (int)(src.Transposed ? we.Shape[0] : we.Shape[1]);
        // The bias lengths settle the orientation when the names mislead (non-square only).
        int? bEncLen = found["b_enc"] is { } be ? (int)w.Get(be.Key).Elements() : null;
        int? bDecLen = found["b_dec"] is { } bd ? (int)w.Get(bd.Key).Elements() : null;
        if (dIn != dSae && ((bEncLen != null && bEncLen == dIn) || (bDecLen != null && bDecLen == dSae)) && o.KeyMap.Count == 0)
        {
            (dIn, dSae) = (dSae, dIn);
            src = src with { Transposed = !src.Transposed };
            notes.Add($"'{src.Key}' is stored the other way round from its name's convention; transposed by the bias lengths.");
        }
        var wEnc = w.Matrix(src.Key, dIn, dSae, src.Transposed);
        var bEnc = Vector(w, found["b_enc"], dSae, "b_enc", notes);
        var wDec = DecoderMatrix(w, found["W_dec"], dIn, dSae, wEnc, notes);
        var bDec = Vector(w, found["b_dec"], dIn, "b_dec", notes);
        float[]? threshold = null;
        if (found["threshold"] is { } th)
        {
            threshold = w.Vector(th.Key, dSae);
            if (th.Key.EndsWith("log_threshold", StringComparison.Ordinal))
                for (int i = 0; i < threshold.Length; i++) threshold[i] = MathF.Exp(threshold[i]);
        }
        int k = o.K ?? ConfigInt(w, "k") ?? 0;
        var inferred = threshold != null ? SaeArchitectures.JumpRelu : k > 0 ? SaeArchitectures.TopK : SaeArchitectures.Relu;
        string arch = o.Architecture == null ? inferred.Name : SaeArchitectures.FindInference(o.Architecture)?.Name ?? o.Architecture;
        if (o.Architecture == null) notes.Add($"architecture {arch} inferred ({(threshold != null ? "a threshold tensor" : k > 0 ? $"k = {k} in the checkpoint" : "no threshold or k")}); override with --arch.");
        bool applyBDec = o.ApplyBDecToInput ?? true;
        if (o.ApplyBDecToInput == null) notes.Add("apply_b_dec_to_input = true assumed (x − b_dec is encoded); override with --apply-b-dec-to-input false.");
        foreach (var (name, s) in found) if (s != null) notes.Add($"{name} ← '{s.Key}'{(s.Transposed ? " (transposed)" : "")}.");
        return SaeImporter.Build(path, dIn, dSae, arch, SaeArchitectures.Find(arch)?.FixedKPerToken == true ? k : 0, applyBDec, wEnc, bEnc, wDec, bDec, threshold, new SaeMetadata());
    }

    static string Names(string target) => string.Join(" | ", Candidates[target].Select(c => c.Name));

    static Dictionary<string, Source?> Resolve(NamedTensors w, SaeImportOptions o, List<string> notes)
    {
        var result = new Dictionary<string, Source?>();
        foreach (var (target, value) in o.KeyMap)
        {
            if (!Candidates.ContainsKey(target)) throw new UserError($"--map: '{target}' is not one of {string.Join(", ", Candidates.Keys)}.");
            bool t = value.EndsWith(".T", StringComparison.Ordinal);
            var key = t ? value[..^2] : value;
            if (!w.Has(key)) throw new UserError($"--map {target}={value}: '{w.Path}' has no tensor '{key}' (it has: {string.Join(", ", w.Tensors.Keys.Take(40))}).");
            result[target] = new Source(key, t);
        }
        string prefix = o.Prefix ?? FindPrefix(w, notes);
        foreach (var (target, cands) in Candidates)
        {
            if (result.ContainsKey(target)) continue;
            result[target] = cands.Where(c => w.Has(prefix + c.Name)).Select(c => new Source(prefix + c.Name, c.Transposed)).FirstOrDefault();
        }
        return result;
    }

    /// <summary>The unique dotted prefix under which an encoder weight sits ("" for a bare state dict).</summary>
    static string FindPrefix(NamedTensors w, List<string> notes)
    {
        var prefixes = new List<string>();
        foreach (var key in w.Tensors.Keys)
            foreach (var (name, _) in Candidates["W_enc"])
                if (key == name || key.EndsWith("." + name, StringComparison.Ordinal))
                    prefixes.Add(key[..^name.Length]);
        prefixes = prefixes.Distinct().ToList();
        if (prefixes.Count > 1)
            throw new UserError($"'{w.Path}' has encoder weights under several prefixes ({string.Join(", ", prefixes.Select(p => p.Length == 0 ? "(none)" : p))}); pick one with --prefix.");
        if (prefixes.Count == 1 && prefixes[0].Length > 0) notes.Add($"SAE tensors found under '{prefixes[0]}'.");
        return prefixes.Count == 1 ? prefixes[0] : "";
    }

    static float[] Vector(NamedTensors w, Source? s, int length, string name, List<string> notes)
    {
        if (s != null) return w.Vector(s.Key, length);
        notes.Add($"no {name} tensor: zeros used.");
        return new float[length];
    }

    static float[] DecoderMatrix(NamedTensors w, Source? s, int dIn, int dSae, float[] wEnc, List<string> notes)
    {
        if (s == null)
        {
            notes.Add("no decoder weight: tied to the encoder (W_dec = W_encᵀ).");
            return NamedTensors.Transpose(wEnc, dIn, dSae);
        }
        var t = w.Get(s.Key);
        bool transposed = s.Transposed;
        if (dIn != dSae && t.Shape.Length == 2 && t.Shape[0] == (transposed ? dSae : dIn)) transposed = !transposed;
        return w.Matrix(s.Key, dSae, dIn, transposed);
    }

    /// <summary>An integer from a checkpoint's config dict ("config", "cfg" or "hyperparameters").</summary>
    static int? ConfigInt(NamedTensors w, string key)
    {
        foreach (var c in new[] { "config", "cfg", "hyperparameters", "args" })
            if (w.PickleValue(c + "." + key) is long v && v > 0 && v < int.MaxValue) return (int)v;
        if (w.Has(key) && w.Get(key).Elements() == 1) return (int)w.Get(key).Scalar();
        return null;
    }
}
