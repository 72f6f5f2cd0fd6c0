using System.CommandLine;
using SaeGuard.Common;
using SaeGuard.Interop;
using SaeGuard.Sae;

namespace SaeGuard.Cli.Commands;

static class SaeCommand
{
    public static Command Create() => new("sae", "Work with SAEs from other libraries.") { Convert() };

    static Command Convert()
    {
        var from = CommonOptions.Required("--from", "SAE to read: an SAELens, sparsify, dictionary_learning or Gemma Scope folder, or a state-dict file (.pt, .safetensors, .npz).");
        var to = CommonOptions.Required("--to", "Output folder (SAELens layout: cfg.json + sae_weights.safetensors).");
        var format = new Option<string>("--format") { Description = "auto|saelens|sparsify|dictionary_learning|gemmascope|state_dict", DefaultValueFactory = _ => "auto" };
        var map = new Option<string[]>("--map") { Description = "State dicts: NAME=KEY, NAME one of W_enc b_enc W_dec b_dec threshold; KEY ending in .T is transposed.", AllowMultipleArgumentsPerToken = true };
        var prefix = new Option<string?>("--prefix") { Description = "State dicts: dotted prefix of the SAE's tensors (e.g. model_state_dict.)." };
        var arch = new Option<string?>("--arch") { Description = "Override the architecture: topk, batchtopk (as jumprelu), jumprelu or relu." };
        var k = new Option<int?>("--k") { Description = "Active latents per token for topk." };
        var applyBDec = new Option<bool?>("--apply-b-dec-to-input") { Description = "Subtract b_dec from the input before encoding (true/false)." };
        var foldNorm = new Option<bool>("--fold-norm-factor") { Description = "dictionary_learning: multiply biases and threshold by config norm_factor." };
        var modelName = new Option<string?>("--model-name") { Description = "Record this model name in cfg.json metadata." };
        var hookName = new Option<string?>("--hook-name") { Description = "Record this hook name in cfg.json metadata." };
        var layer = new Option<int?>("--layer") { Description = "Record this layer in cfg.json metadata." };
        var json = CommonOptions.Json();
        var force = CommonOptions.Force();
        var cmd = new Command("convert", "Import an SAE made in Python (without running any of its code) and write it in SAELens layout.")
        { from, to, format, map, prefix, arch, k, applyBDec, foldNorm, modelName, hookName, layer, json, force };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            OutputPolicy.Folder(p.GetValue(to)!, "sae", p.GetValue(force), p.GetValue(from));
            var keyMap = new Dictionary<string, string>();
            foreach (var m in p.GetValue(map) ?? Array.Empty<string>())
            {
                int eq = m.IndexOf('=');
                if (eq <= 0 || eq == m.Length - 1) throw new UserError($"--map expects NAME=KEY, got '{m}'.");
                keyMap[m[..eq]] = m[(eq + 1)..];
            }
            var options = new SaeImportOptions
            {
                Format = p.GetValue(format)!, KeyMap = keyMap, Prefix = p.GetValue(prefix), Architecture = p.GetValue(arch),
                K = p.GetValue(k), ApplyBDecToInput = p.GetValue(applyBDec), FoldNormFactor = p.GetValue(foldNorm),
                ModelName = p.GetValue(modelName), HookName = p.GetValue(hookName), Layer = p.GetValue(layer),
            };
            var src = p.GetValue(from)!;
            var dst = p.GetValue(to)!;
            var result = SaeImporter.Import(src, options);
            SaeLensFormat.Save(result.Sae, dst);
            var c = result.Sae.Config;
            foreach (var note in result.Notes) Console.Error.WriteLine($"sae convert: {note}");
            Console.Error.WriteLine($"sae convert: {result.Format} SAE {src} → {dst}: d_in {c.DIn}, d_sae {c.DSae}, {c.Architecture}{(result.Sae.Arch.FixedKPerToken ? $" k={c.K}" : "")}, apply_b_dec_to_input {(c.ApplyBDecToInput ? "true" : "false")}.");
            if (p.GetValue(json))
                CliRunner.PrintJson(new
                {
                    format = result.Format, source = src, out_dir = dst, d_in = c.DIn, d_sae = c.DSae, architecture = c.Architecture,
                    k = c.K, apply_b_dec_to_input = c.ApplyBDecToInput, notes = result.Notes,
                });
            return 0;
        }));
        return cmd;
    }
}
