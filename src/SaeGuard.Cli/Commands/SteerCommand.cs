using System.CommandLine;
using SaeGuard.Common;
using SaeGuard.Gguf;
using SaeGuard.Sae;

namespace SaeGuard.Cli.Commands;

static class SteerCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Required("--model", "GGUF model file (the one the SAE was trained on).");
        var sae = CommonOptions.Required("--sae", "SAE folder (cfg.json + sae_weights.safetensors).");
        var feature = new Option<int>("--feature") { Description = "SAE feature whose decoder direction is added.", Required = true };
        var strength = new Option<double>("--strength") { Description = "Multiple of the layer's typical residual norm to add (negative to subtract).", Required = true };
        var prompt = CommonOptions.Required("--prompt", "Text to continue.");
        var layer = new Option<int?>("--layer") { Description = "Block whose output (l_out-N) is steered (default: the SAE's layer; ≥ 1)." };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate.", DefaultValueFactory = _ => 32 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy; otherwise sampled with --seed.", DefaultValueFactory = _ => 0 };
        var norm = new Option<double?>("--norm") { Description = "Typical residual norm to scale by (default: the SAE's training norm, else measured on the prompt)." };
        var chat = CommonOptions.ChatTemplate("Wrap the prompt as a user turn in a chat template");
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var cmd = new Command("steer", "Generate with and without adding an SAE feature's direction to a GGUF model's residual stream, side by side.")
        { model, sae, feature, strength, prompt, layer, maxNew, temperature, norm, chat, seed, threads, json };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            var saeModel = SaeLensFormat.Load(p.GetValue(sae)!);
            using var steerer = new GgufSteerer(p.GetValue(model)!, new GgufOptions { Threads = p.GetValue(threads) });
            WarnIfOtherModel(saeModel, steerer.Model);
            var r = steerer.Run(saeModel, new SteerRequest
            {
                Prompt = p.GetValue(prompt)!, Feature = p.GetValue(feature), Strength = p.GetValue(strength),
                Layer = p.GetValue(layer), MaxNewTokens = p.GetValue(maxNew), Temperature = p.GetValue(temperature),
                Seed = p.GetValue(seed), Norm = p.GetValue(norm), Template = p.GetValue(chat),
            });
            if (p.GetValue(json))
            {
                CliRunner.PrintJson(new
                {
                    r.Prompt, r.Layer, r.Hook, r.Feature, r.Strength, r.ResidualNorm, r.NormSource, r.VectorNorm, r.PromptTokens,
                    temperature = p.GetValue(temperature), seed = p.GetValue(seed),
                    baseline = new { text = r.Baseline.Text, tokens = r.Baseline.Tokens, stopped = r.Baseline.Stopped },
                    steered = new { text = r.Steered.Text, tokens = r.Steered.Tokens, stopped = r.Steered.Stopped },
                });
                return 0;
            }
            Console.Out.WriteLine($"steer: feature {r.Feature} at {r.Hook}, strength {r.Strength:G4} × residual norm {r.ResidualNorm:G4} ({r.NormSource}) → vector norm {r.VectorNorm:G4}");
            Console.Out.WriteLine($"prompt: {r.Prompt}");
            Console.Out.WriteLine();
            Console.Out.Write(SideBySide.Format("without steering", r.Baseline.Text, $"with feature {r.Feature} × {r.Strength:G4}", r.Steered.Text, SideBySide.ConsoleWidth()));
            return 0;
        }));
        return cmd;
    }

    static void WarnIfOtherModel(SaeModel sae, GgufModel model)
    {
        var expected = sae.Config.Metadata.ModelSha256;
        if (!string.IsNullOrEmpty(expected) && !expected.Equals(model.Sha256, StringComparison.OrdinalIgnoreCase))
            Console.Error.WriteLine($"warning: the SAE was trained on a model with sha256 {expected}, not '{model.Path}' ({model.Sha256}).");
    }
}

/// <summary>Two texts in two columns, word-wrapped.</summary>
static class SideBySide
{
    public static int ConsoleWidth()
    {
        try { return Console.IsOutputRedirected ? 100 : Math.Clamp(Console.WindowWidth, 40, 200); }
        catch (IOException) { return 100; }
    }

    public static string Format(string leftTitle, string left, string rightTitle, string right, int width)
    {
        int col = Math.Max(10, (width - 3) / 2);
        var l = Wrap(left, col);
        var r = Wrap(right, col);
        var sb = new System.Text.StringBuilder();
        void Line(string a, string b) => sb.Append(a.PadRight(col)).Append(" | ").Append(b).Append('\n');
        Line(Clip(leftTitle, col), Clip(rightTitle, col));
        Line(new string('-', col), new string('-', col));
        for (int i = 0; i < Math.Max(l.Count, r.Count); i++) Line(i < l.Count ? l[i] : "", i < r.Count ? r[i] : "");
        return sb.ToString();
    }

    static string Clip(string s, int n) => s.Length <= n ? s : s[..n];

    public static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var clean = new string(text.Replace("\r", "").Select(c => c != '\n' && char.IsControl(c) ? ' ' : c).ToArray());
        foreach (var para in clean.Split('\n'))
        {
            var cur = new System.Text.StringBuilder();
            foreach (var word in para.Split(' '))
            {
                var w = word;
                while (w.Length > width) { if (cur.Length > 0) { lines.Add(cur.ToString()); cur.Clear(); } lines.Add(w[..width]); w = w[width..]; }
                if (cur.Length > 0 && cur.Length + 1 + w.Length > width) { lines.Add(cur.ToString()); cur.Clear(); }
                if (cur.Length > 0) cur.Append(' ');
                cur.Append(w);
            }
            lines.Add(cur.ToString());
        }
        return lines;
    }
}
