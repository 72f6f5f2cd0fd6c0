using System.CommandLine;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Sae;
using SaeGuard.Sae.Device;

namespace SaeGuard.Cli.Commands;

static class EncodeCommand
{
    public static Command Create()
    {
        var acts = CommonOptions.Required("--acts", "Activations dump folder.");
        var sae = CommonOptions.Required("--sae", "SAE folder (SAELens layout: cfg.json + sae_weights.safetensors).");
        var output = CommonOptions.Required("--out", "Output codes dump folder.");
        var dtype = new Option<string>("--dtype") { Description = "f16 or f32 storage of the code values.", DefaultValueFactory = _ => "f16" };
        var device = new Option<string>("--device")
        {
            Description = "Where the encoder GEMM and the activation run: cpu | cuda | ilgpu-cpu (ILGPU's CPU accelerator, for checks) | auto (cuda when a CUDA device and driver are found, else cpu).",
            DefaultValueFactory = _ => SaeDevice.CpuName,
        };
        var json = CommonOptions.Json();
        var force = CommonOptions.Force(); var nonfinite = CommonOptions.NonFinite();
        var shardMb = new Option<int>("--max-shard-mb") { Description = "Size of each safetensors file of the codes dump, in MB (a shard is held in memory until written).", DefaultValueFactory = _ => 64 };
        var cmd = new Command("encode", "Encode an activations dump with an SAE into a codes dump (same folder layout, sparse top-k rows).")
        { acts, sae, output, dtype, device, json, force, nonfinite, shardMb };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var dt = p.GetValue(dtype)!;
            if (dt != "f16" && dt != "f32") throw new UserError($"--dtype must be f16 or f32, got '{dt}'.");
            var dev = SaeDevice.Resolve(p.GetValue(device)).Name;
            OutputPolicy.Folder(p.GetValue(output)!, "codes", p.GetValue(force), p.GetValue(acts), p.GetValue(sae));
            NonFiniteRows.Use(p.GetValue(nonfinite));
            if (p.GetValue(shardMb) <= 0) throw new UserError($"--max-shard-mb must be positive, got {p.GetValue(shardMb)}.");
            var dump = ActivationDump.Open(p.GetValue(acts)!);
            var saeDir = p.GetValue(sae)!;
            var model = SaeLensFormat.Load(saeDir);
            var s = CodesEncoder.Encode(dump, model, p.GetValue(output)!, new EncodeOptions { F16 = dt == "f16", SaeDir = saeDir, Device = dev, MaxShardBytes = (long)p.GetValue(shardMb) << 20 });
            Console.Error.WriteLine($"encode: {s.Tokens:N0} tokens, {s.D}→{s.DSae} ({model.Config.Architecture}), {s.Layout}" + (s.K > 0 ? $" k={s.K}" : "") +
                $", mean L0 {s.MeanL0:F1} (max {s.MaxL0}) in {s.Seconds:F1}s on {s.Device} → {s.OutDir}");
            if (p.GetValue(json))
                CliRunner.PrintJson(new { tokens = s.Tokens, d_in = s.D, d_sae = s.DSae, layout = s.Layout, k = s.K, mean_l0 = s.MeanL0, max_l0 = s.MaxL0, seconds = s.Seconds, device = s.Device, out_dir = s.OutDir });
            return 0;
        }));
        return cmd;
    }
}
