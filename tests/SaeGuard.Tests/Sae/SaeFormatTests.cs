using System.Text.Json.Nodes;
using SaeGuard.IO;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;
using SaeGuard.Sae.Training.Architectures;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Sae;

public class SaeFormatTests
{
    static readonly float[] X = SaeTestDumps.Planted(3000, 32, 64, 21);

    [Theory]
    [InlineData("topk")]
    [InlineData("batchtopk")]
    [InlineData("jumprelu")]
    [InlineData("relu")]
    public void Save_load_encode_gives_identical_codes(string arch)
    {
        var sae = SaeTrainer.Train(X, 32, new SaeTrainOptions { Arch = arch, Latents = 128, K = 4, L1 = 1.0, Tokens = 40_000, BatchSize = 512, Lr = 4e-3 });
        using var tmp = new TempDir();
        SaeLensFormat.Save(sae, tmp["sae"]);
        var back = SaeLensFormat.Load(tmp["sae"]);
        Assert.Equal(sae.Config.Architecture, back.Config.Architecture);
        Assert.Equal(sae.Config.K, back.Config.K);
        var a = sae.Encode(X.AsSpan(0, 200 * 32), 200);
        var b = back.Encode(X.AsSpan(0, 200 * 32), 200);
        Assert.Equal(a, b);
        Assert.Contains(a, v => v > 0);
        var cfg = JsonNode.Parse(File.ReadAllText(tmp["sae/cfg.json"]))!;
        Assert.Equal("none", cfg["normalize_activations"]!.GetValue<string>());
        Assert.Equal(arch == "relu" ? "standard" : arch == "topk" ? "topk" : "jumprelu", cfg["architecture"]!.GetValue<string>());
    }

    [Fact]
    public void A_hand_written_SAELens_folder_loads_with_the_right_shapes_and_encodes()
    {
        using var tmp = new TempDir();
        var dir = Directory.CreateDirectory(tmp["gemma-like"]).FullName;
        int d = 6, m = 10;
        var rng = new Random(2);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var wEnc = R(d * m); var bEnc = R(m); var wDec = R(m * d); var bDec = R(d);
        var thr = Enumerable.Repeat(0.05f, m).ToArray();
        File.WriteAllText(Path.Combine(dir, "cfg.json"), """
            {"architecture": "jumprelu", "d_in": 6, "d_sae": 10, "dtype": "float32", "device": "cpu",
             "apply_b_dec_to_input": false, "normalize_activations": "none", "reshape_activations": "none",
             "metadata": {"model_name": "gemma-2-2b", "hook_name": "blocks.12.hook_resid_post", "hook_head_index": null,
                          "prepend_bos": true, "dataset_path": "monology/pile-uncopyrighted", "sae_lens_training_version": null}}
            """);
        new SafeTensorsWriter().AddF32("W_enc", wEnc, d, m).AddF32("b_enc", bEnc, m).AddF32("W_dec", wDec, m, d)
            .AddF32("b_dec", bDec, d).AddF32("threshold", thr, m).Save(Path.Combine(dir, "sae_weights.safetensors"));
        var sae = SaeLensFormat.Load(dir);
        Assert.Equal((6, 10, "jumprelu"), (sae.DIn, sae.DSae, sae.Config.Architecture));
        Assert.Equal("gemma-2-2b", sae.Config.Metadata.ModelName);
        Assert.Equal("blocks.12.hook_resid_post", sae.Config.Metadata.HookName);
        Assert.False(sae.Config.ApplyBDecToInput);
        Assert.Equal(d * m, sae.WEnc.Length);
        Assert.Equal(thr, sae.Threshold);
        var x = R(3 * d);
        var z = sae.Encode(x, 3);
        for (int t = 0; t < 3; t++)
            for (int j = 0; j < m; j++)
            {
                double pre = bEnc[j];
                for (int i = 0; i < d; i++) pre += x[t * d + i] * wEnc[i * m + j];
                double want = pre > 0.05 ? pre : 0;
                Assert.Equal(want, z[t * m + j], 1e-5);
            }

        // an older (v5) TopK cfg without "architecture"
        File.WriteAllText(Path.Combine(dir, "cfg.json"), """
            {"d_in": 6, "d_sae": 10, "dtype": "float32", "model_name": "gpt2", "hook_name": "blocks.8.hook_resid_pre", "hook_layer": 8,
             "activation_fn_str": "topk", "activation_fn_kwargs": {"k": 3}, "apply_b_dec_to_input": true}
            """);
        var v5 = SaeLensFormat.Load(dir);
        Assert.Equal(("topk", 3, 8), (v5.Config.Architecture, v5.Config.K, v5.Config.Metadata.Layer));
        Assert.All(Enumerable.Range(0, 3), t => Assert.True(v5.Encode(x, 3).Skip(t * m).Take(m).Count(v => v > 0) <= 3));
    }

    [Fact]
    public void A_folder_whose_tensors_disagree_with_cfg_is_refused()
    {
        using var tmp = new TempDir();
        var dir = Directory.CreateDirectory(tmp["bad"]).FullName;
        File.WriteAllText(Path.Combine(dir, "cfg.json"), """{"architecture": "standard", "d_in": 4, "d_sae": 8}""");
        new SafeTensorsWriter().AddF32("W_enc", new float[4 * 9], 4, 9).AddF32("b_enc", new float[8], 8).AddF32("W_dec", new float[32], 8, 4)
            .AddF32("b_dec", new float[4], 4).Save(Path.Combine(dir, "sae_weights.safetensors"));
        var e = Assert.Throws<SaeGuard.Common.UserError>(() => SaeLensFormat.Load(dir));
        Assert.Contains("W_enc", e.Message);
        Assert.Contains("[4,9]", e.Message);
    }

    [Theory]
    [InlineData("topk")]
    [InlineData("jumprelu")]
    [InlineData("relu")]
    public void Folding_the_normalisation_scale_leaves_outputs_unchanged(string arch)
    {
        int d = 12, m = 40, n = 30;
        var rng = new Random(arch.Length);
        float G() => (float)(rng.NextDouble() * 2 - 1);
        var o = new SaeTrainOptions { Arch = arch, K = 5, Latents = m };
        var tsae = TrainingSae.Create(o, d, m);
        var p = new SaeParams(d, m, tsae.HasTheta);
        for (int i = 0; i < p.WEncT.Length; i++) { p.WEncT[i] = G(); p.WDec[i] = G(); }
        for (int j = 0; j < m; j++) { p.BEnc[j] = 0.3f * G(); if (p.Theta != null) p.Theta[j] = 0.5f + 0.5f * (float)rng.NextDouble(); }
        for (int i = 0; i < d; i++) p.BDec[i] = G();
        const double scale = 2.7;
        var sae = SaeTrainer.Fold(p, tsae, scale, new SaeConfig());
        var x = Enumerable.Range(0, n * d).Select(_ => 3 * G()).ToArray();
        var z = sae.Encode(x, n);
        var xhat = new float[n * d];
        sae.Decode(z, n, xhat);
        for (int t = 0; t < n; t++)
        {
            // the training-space computation on scaled inputs, by hand
            var pre = new double[m];
            for (int j = 0; j < m; j++)
            {
                pre[j] = p.BEnc[j];
                for (int i = 0; i < d; i++) pre[j] += (scale * x[t * d + i] - p.BDec[i]) * p.WEncT[j * d + i];
            }
            var keep = arch switch
            {
                "topk" => Enumerable.Range(0, m).Where(j => pre[j] > 0).OrderByDescending(j => pre[j]).Take(5).ToHashSet(),
                "jumprelu" => Enumerable.Range(0, m).Where(j => pre[j] > p.Theta![j]).ToHashSet(),
                _ => Enumerable.Range(0, m).Where(j => pre[j] > 0).ToHashSet(),
            };
            for (int j = 0; j < m; j++) Assert.Equal(keep.Contains(j) ? pre[j] : 0, z[t * m + j], 1e-4);
            for (int i = 0; i < d; i++)
            {
                double xh = p.BDec[i];
                foreach (var j in keep) xh += pre[j] * p.WDec[j * d + i];
                Assert.Equal(xh / scale, xhat[t * d + i], 1e-4);
            }
        }
    }
}
