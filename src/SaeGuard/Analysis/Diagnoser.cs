using System.Globalization;
using SaeGuard.Sae;
using static SaeGuard.Analysis.Fmt;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Analysis;

/// <summary>Facts about an SAE that bear on H1–H3, read from its weights and cfg.</summary>
public sealed record SaeFacts
{
    public string Architecture { get; init; } = "";
    public int DIn { get; init; }
    public int DSae { get; init; }
    public double BEncMean { get; init; }
    public double BEncMedian { get; init; }
    public double BEncPositiveShare { get; init; }
    /// <summary>Latents that would fire for the input x = b_dec (pre-activation &gt; 0, and above the threshold for JumpReLU).</summary>
    public int PositiveAtBDec { get; init; }
    /// <summary>Mean ‖x‖ the SAE was trained on (cfg metadata), or the norm its normalisation implies.</summary>
    public double? TrainNorm { get; init; }
    public string TrainNormSource { get; init; } = "";
    public double? L1Coefficient { get; init; }
    /// <summary>ce_loss_score (LMs) or embedding_score (encoders) from <c>saeguard eval</c>, read from the SAE folder's eval_summary.json.</summary>
    public double? SplicedScore { get; init; }
    public string SplicedScoreName { get; init; } = "";
    /// <summary>The eval.json the spliced score comes from.</summary>
    public string? SplicedEvalJson { get; init; }

    public static SaeFacts From(SaeModel sae, string? saeDir = null)
    {
        var c = sae.Config;
        var b = sae.BEnc.Select(v => (double)v).OrderBy(v => v).ToArray();
        var pre = new float[sae.DSae];
        sae.PreActivations(sae.BDec, 1, pre);
        int positive = 0;
        for (int j = 0; j < pre.Length; j++)
            if (pre[j] > 0 && (sae.Threshold == null || pre[j] > sae.Threshold[j])) positive++;
        double? norm = c.Metadata.TrainActivationNorm;
        string source = norm != null ? "cfg.json metadata.train_activation_norm" : "";
        if (norm == null && c.NormalizeActivations is "expected_average_only_in" or "constant_norm_rescale")
        {
            norm = Math.Sqrt(c.DIn);
            source = $"normalize_activations = {c.NormalizeActivations} (inputs scaled to mean ‖x‖ = √d_in)";
        }
        double? l1 = c.Training.Where(kv => kv.Key.Contains("l1", StringComparison.OrdinalIgnoreCase))
            .Select(kv => double.TryParse(kv.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : (double?)null)
            .FirstOrDefault(v => v != null);
        return new SaeFacts
        {
            Architecture = c.Architecture, DIn = c.DIn, DSae = c.DSae,
            BEncMean = b.Average(), BEncMedian = b.Length % 2 == 1 ? b[b.Length / 2] : (b[b.Length / 2 - 1] + b[b.Length / 2]) / 2,
            BEncPositiveShare = b.Count(v => v > 0) / (double)b.Length, PositiveAtBDec = positive,
            TrainNorm = norm, TrainNormSource = source, L1Coefficient = l1,
        }.WithEvalSummary(saeDir);
    }

    /// <summary>Adds the spliced score that <c>saeguard eval</c> left in the SAE folder (eval_summary.json, see FORMATS.md), if any.</summary>
    SaeFacts WithEvalSummary(string? saeDir)
    {
        var path = saeDir == null ? null : Path.Combine(saeDir, "eval_summary.json");
        if (path == null || !File.Exists(path)) return this;
        try
        {
            var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path));
            double? Num(string key) => root?[key] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<double>(out var x) ? x : null;
            var (score, name) = Num("ce_loss_score") is double ce ? (ce, "ce_loss_score") : Num("embedding_score") is double es ? (es, "embedding_score") : ((double?)null, "");
            return score == null ? this : this with { SplicedScore = score, SplicedScoreName = name, SplicedEvalJson = root?["eval_json"]?.ToString() };
        }
        catch (System.Text.Json.JsonException) { return this; }
    }
}

/// <summary>
/// Decides the verdict and which of H1 (weak sparsity), H2 (bias/offset), H3 (normalisation
/// mismatch) and AXIS (wrong axis or wrong tensor) the numbers support. Rules, in order:
/// AXIS first (if the matrix is not tokens × features codes, H1/H2 are not assessed); H3 needs an
/// SAE and activations; H2 needs always-on mass or an offset (SAE-side evidence when H3 confounds
/// the codes); H1 is the remaining explanation of dense codes when they stay dense above small eps
/// (or the SAE's cfg says ReLU + a small L1). Thresholds: <see cref="DiagnosisThresholds"/>.
/// </summary>
public static class Diagnoser
{
    public static Diagnosis Diagnose(FeatureStats s, InputFacts? facts = null, SaeModel? sae = null, ReconstructionStats? recon = null, DiagnosisThresholds? thresholds = null) =>
        Diagnose(s, facts, sae != null ? SaeFacts.From(sae) : null, recon, thresholds);

    public static Diagnosis Diagnose(FeatureStats s, InputFacts? facts, SaeFacts? sae, ReconstructionStats? recon, DiagnosisThresholds? thresholds = null)
    {
        var t = thresholds ?? DiagnosisThresholds.Default;
        int w = s.Width;
        double l0 = s.L0.Mean;
        double sparseLimit = Math.Max(1, Math.Min(t.SparseFraction * w, t.SparseMaxL0));
        bool dense = l0 > sparseLimit;
        double at001 = s.EpsTable.First(e => e.Eps == 1e-2).ActivePerToken;
        double at01 = s.EpsTable.First(e => e.Eps == 0.1).ActivePerToken;
        double retention = l0 > 0 ? at001 / l0 : 0;

        var axis = Axis(s, facts, t);
        var h3 = H3(sae, recon, t);
        var h2 = H2(s, sae, recon, t, dense, axis.Supported, h3.Supported);
        var h1 = H1(s, sae, t, dense, retention, axis.Supported, h2.Supported, h3.Supported);

        string verdict, reason;
        string l0Text = $"mean L0 = {N(l0, 1)} of {Int(w)} features ({Pct(l0 / w)}); sparse means ≤ {N(sparseLimit, 0)} (min({Pct(t.SparseFraction)} of the width, {N(t.SparseMaxL0, 0)}))";
        string epsText = $"above eps = 0.01 it is {N(at001, 1)} and above 0.1 it is {N(at01, 1)} per token";
        if (axis.Supported || s.Values.NonFinite > 0)
        {
            verdict = "suspicious";
            reason = s.Values.NonFinite > 0
                ? $"{Int(s.Values.NonFinite)} values are NaN or infinite, so the statistics are not trustworthy; " + l0Text + "."
                : "the matrix does not look like SAE codes laid out [tokens, features] (see AXIS); " + l0Text + ".";
        }
        else if (!dense) { verdict = "sparse"; reason = l0Text + "; " + epsText + "."; }
        else
        {
            verdict = "dense";
            reason = l0Text + "; " + epsText + (at001 <= sparseLimit ? " — most activations are tiny, so the codes are numerically dense but small-valued." : ".");
        }
        return new Diagnosis { Verdict = verdict, VerdictReason = reason, Hypotheses = new[] { h1, h2, h3, axis } };
    }

    static Hypothesis Axis(FeatureStats s, InputFacts? facts, DiagnosisThresholds t)
    {
        var why = new List<string>();
        var nums = new Dictionary<string, double?>();
        double neg = s.Values.NegativeFraction, zero = s.Values.ZeroFraction;
        nums["negative_fraction"] = neg; nums["zero_fraction"] = zero;
        bool notCodes = neg >= t.NegativeShare;
        if (notCodes)
            why.Add($"{Pct(neg)} of the values are negative" + (zero < 0.01 ? $" and only {Pct(zero)} are exactly zero" : "")
                + ": SAE codes (ReLU, TopK, JumpReLU) are never negative and mostly exact zeros, so this looks like reconstructions or raw activations");
        if (notCodes && facts?.MetaKind == "activations")
            why.Add("meta.json says this dump holds activations, not codes: pass the SAE with --sae to encode them");

        bool metaTransposed = facts?.TransposedPerMeta == true;
        if (metaTransposed)
            why.Add((facts!.MetaTokens is long metaTokens
                    ? $"meta.json says {Int(metaTokens)} tokens, which is the number of columns of the stored chunks"
                    : "meta.json describes the stored chunks as transposed")
                + " — the matrix is stored [features, tokens]" + (facts.Orientation != null ? $" (read as {facts.Orientation})" : ""));

        // per-"feature" counts vs per-"token" L0s: which axis behaves like tokens?
        var live = s.ActiveCount.Where(c => c > 0).Select(c => (double)c).ToArray();
        double cvCols = CoefVar(live);
        double cvRows = s.L0.Mean > 0 ? s.L0.Std / s.L0.Mean : 0;
        nums["cv_feature_counts"] = cvCols; nums["cv_token_l0"] = cvRows;
        bool enough = live.Length >= 16 && s.Tokens >= 50;
        bool uniformCols = enough && live.Min() == live.Max() && live[0] >= 3 && cvRows > 0.05 && s.Tokens > live[0];
        if (uniformCols)
            why.Add($"every one of the {Int(live.Length)} live 'features' fires on exactly {Int((long)live[0])} 'tokens' while the 'token' L0 varies (CV {N(cvRows, 2)}): a fixed count per column is what TopK gives each token, so the columns are tokens");
        bool swappedSpread = enough && !uniformCols && cvRows > 1 && cvCols < 0.5 && cvRows > 2 * cvCols;
        if (swappedSpread)
            why.Add($"the 'token' L0 varies like feature frequencies do (CV {N(cvRows, 2)}) while the 'feature' firing counts are as even as token L0s usually are (CV {N(cvCols, 2)}): the axes look swapped");

        bool supported = notCodes || metaTransposed || uniformCols || swappedSpread;
        string evidence = supported
            ? string.Join("; ", why) + "."
            : $"Values look like codes ({Pct(neg)} negative, {Pct(zero)} exact zeros) and the axes behave as expected (token L0 CV {N(cvRows, 2)}, feature count CV {N(cvCols, 2)})"
              + (facts?.MetaTokens != null ? $"; rows ({Int(facts.Rows)}) match the token count in meta.json" : "") + ".";
        return new Hypothesis
        {
            Id = "AXIS", Name = "wrong axis or wrong tensor", Supported = supported, Evidence = evidence, Numbers = nums,
            Advice = supported
                ? "Check what was saved: codes must be the SAE encoder's output laid out [tokens, features] (non-negative, mostly exact zeros). "
                  + (notCodes ? "Save the encoder output, not the reconstruction x̂ or the raw activations (or run analyze on the activations with --sae). " : "")
                  + (metaTransposed || uniformCols || swappedSpread ? "Transpose the matrix (rows must be tokens) before saving, and make meta.json's counts match." : "")
                : "",
        };
    }

    /// <summary>A spliced score (ce_loss_score / embedding_score) below this counts as H3 evidence.</summary>
    const double PoorSplicedScore = 0.5;

    static Hypothesis H3(SaeFacts? sae, ReconstructionStats? r, DiagnosisThresholds t)
    {
        var nums = new Dictionary<string, double?>();
        if (sae == null || r == null)
            return new Hypothesis { Id = "H3", Name = "normalisation mismatch", Supported = false, Numbers = nums,
                Evidence = "Not assessable from codes alone: run analyze on the activations with --sae to compare their scale with the SAE's training scale." };
        nums["mean_norm"] = r.MeanNorm; nums["train_norm"] = sae.TrainNorm; nums["explained_variance"] = r.ExplainedVariance;
        double? ratio = sae.TrainNorm is double tn && tn > 0 ? r.MeanNorm / tn : null;
        nums["norm_ratio"] = ratio;
        var probe = r.ScaleProbe.Where(p => !double.IsNaN(p.ExplainedVariance)).ToList();
        var atOne = probe.FirstOrDefault(p => p.Scale == 1);
        var best = probe.OrderByDescending(p => p.ExplainedVariance).FirstOrDefault();
        bool probeSays = probe.Count > 1 && best.Scale != 1 && (best.Scale >= 2 || best.Scale <= 0.5)
            && best.ExplainedVariance - atOne.ExplainedVariance >= t.ProbeGain && best.ExplainedVariance >= 0.5;
        nums["best_probe_scale"] = probe.Count > 1 ? best.Scale : null;
        nums["best_probe_explained_variance"] = probe.Count > 1 ? best.ExplainedVariance : null;
        bool ratioSays = ratio != null && (ratio > t.NormRatio || ratio < 1 / t.NormRatio);
        nums["spliced_score"] = sae.SplicedScore;
        bool splicedSays = sae.SplicedScore < PoorSplicedScore;
        bool supported = ratioSays || (ratio == null && probeSays) || splicedSays;
        var parts = new List<string>();
        parts.Add($"mean ‖x‖ of the analysed activations = {N(r.MeanNorm)}");
        parts.Add(sae.TrainNorm != null ? $"the SAE was trained at mean ‖x‖ = {N(sae.TrainNorm.Value)} ({sae.TrainNormSource}), a ratio of {N(ratio!.Value, 2)}" : "the SAE's cfg records no training scale");
        parts.Add($"explained variance of the reconstruction = {N(r.ExplainedVariance)}");
        if (probe.Count > 1)
            parts.Add("on a sample of tokens, explained variance at input scale " + string.Join(", ", probe.Select(p => $"×{N(p.Scale, 3)}: {N(p.ExplainedVariance, 2)}")));
        if (sae.SplicedScore is double sp)
            parts.Add($"spliced into the model (`saeguard eval`, {sae.SplicedEvalJson}) its {sae.SplicedScoreName} is {N(sp, 3)}" +
                      (splicedSays ? $", below {N(PoorSplicedScore, 2)}: the model reading x̂ loses most of what the layer carries, as when x̂ comes out at the wrong scale" : ""));
        string evidence = string.Join("; ", parts) + "." + (supported ? "" : ratioSays || probeSays ? "" : " The scales agree.");
        return new Hypothesis
        {
            Id = "H3", Name = "normalisation mismatch", Supported = supported, Evidence = evidence, Numbers = nums,
            Advice = supported
                ? $"Feed the SAE activations at the scale it was trained on: apply the training-time normalisation (here multiply them by ≈{N(ratio != null ? 1 / ratio.Value : best.Scale, 3)}), or fold the scale into the weights when saving and record train_activation_norm in cfg.json; check that the model, layer and hook match the SAE's metadata."
                : "",
        };
    }

    static Hypothesis H2(FeatureStats s, SaeFacts? sae, ReconstructionStats? r, DiagnosisThresholds t, bool dense, bool axis, bool h3)
    {
        int w = s.Width;
        double always = s.AlwaysOn99 / (double)w;
        double share = s.OffsetEnergyShare;
        var nums = new Dictionary<string, double?>
        {
            ["always_on_099"] = s.AlwaysOn99, ["always_on_050"] = s.AlwaysOn50, ["offset_energy_share"] = share,
            ["b_enc_positive_share"] = sae?.BEncPositiveShare, ["positive_at_b_dec"] = sae?.PositiveAtBDec,
            ["features_with_positive_mean_pre"] = r?.FeaturesWithPositiveMeanPre, ["pre_activation_mean"] = r?.PreActivationMean,
        };
        if (axis)
            return new Hypothesis { Id = "H2", Name = "bias/offset makes features always on", Supported = false, Numbers = nums,
                Evidence = "Not assessed: the input does not look like SAE codes laid out [tokens, features] (see AXIS)." };
        var why = new List<string>();
        bool manyAlwaysOn = always >= t.AlwaysOnShare;
        bool offset = dense && share >= t.OffsetEnergyShare;
        double posAtBDec = sae != null ? sae.PositiveAtBDec / (double)sae.DSae : 0;
        bool saeOffset = sae != null && dense && posAtBDec >= t.PositiveLatentShare;
        bool preOffset = r != null && dense && r.FeaturesWithPositiveMeanPre >= t.PositiveLatentShare;
        if (h3) { manyAlwaysOn = offset = preOffset = false; } // the codes are confounded by the input scale
        string facts = $"{Int(s.AlwaysOn99)} features ({Pct(always)}) fire on > 99% of tokens and {Int(s.AlwaysOn50)} ({Pct(s.AlwaysOn50 / (double)w)}) on > 50%; "
            + $"the mean code vector carries {Pct(share)} of the codes' energy (Σ mean² / Σ E[x²])";
        if (sae != null)
            facts += $"; b_enc: mean {N(sae.BEncMean)}, median {N(sae.BEncMedian)}, {Pct(sae.BEncPositiveShare)} positive; at x = b_dec {Int(sae.PositiveAtBDec)} latents ({Pct(posAtBDec)}) would fire";
        if (r != null)
            facts += $"; pre-activations: mean {N(r.PreActivationMean)} (std {N(r.PreActivationStd)}), {Pct(r.FeaturesWithPositiveMeanPre)} of latents have a positive mean";
        bool supported = manyAlwaysOn || offset || saeOffset || preOffset;
        string evidence = facts + "." + (h3 ? " (Code-side offset evidence is not used: the input scale is off, see H3.)" : "")
            + (supported ? "" : dense ? " No always-on mass or dominant offset." : " The codes are sparse.");
        return new Hypothesis
        {
            Id = "H2", Name = "bias/offset makes features always on", Supported = supported, Evidence = evidence, Numbers = nums,
            Advice = supported
                ? "Features are switched on by a constant offset rather than by the input. Initialise b_enc at 0 or below (or learn a per-feature threshold: JumpReLU), initialise b_dec to the data mean or geometric median and subtract it from the input (apply_b_dec_to_input), and track the share of latents firing on > 50% / 99% of tokens during training. For analysis, centre the codes (PCA with --pca centre) so the offset does not hide the structure."
                : "",
        };
    }

    static Hypothesis H1(FeatureStats s, SaeFacts? sae, DiagnosisThresholds t, bool dense, double retention, bool axis, bool h2, bool h3)
    {
        var nums = new Dictionary<string, double?>
        {
            ["l0_mean"] = s.L0.Mean, ["l0_fraction_of_width"] = s.L0.Mean / s.Width, ["eps_0.01_retention"] = retention,
            ["always_on_099"] = s.AlwaysOn99, ["l1_coefficient"] = sae?.L1Coefficient,
        };
        if (axis)
            return new Hypothesis { Id = "H1", Name = "weak sparsity", Supported = false, Numbers = nums,
                Evidence = "Not assessed: the input does not look like SAE codes laid out [tokens, features] (see AXIS)." };
        bool slow = retention >= t.SlowEpsRetention;
        bool cfgWeak = sae != null && sae.Architecture == SaeArchitectures.Relu.Name && sae.L1Coefficient is double l1 && l1 <= t.SmallL1;
        bool supported = dense && !h2 && !h3 && (slow || cfgWeak);
        var parts = new List<string>
        {
            $"mean L0 = {N(s.L0.Mean, 1)} ({Pct(s.L0.Mean / s.Width)} of the width)",
            $"above eps = 0.01 {Pct(retention)} of the active features remain ({(slow ? "slow" : "fast")} decrease with eps)",
            $"{Int(s.AlwaysOn99)} always-on features (> 99% of tokens)",
        };
        if (sae != null) parts.Add($"SAE architecture {sae.Architecture}" + (sae.L1Coefficient != null ? $", L1 coefficient {N(sae.L1Coefficient.Value)}" : ", no L1 coefficient recorded"));
        string tail = !dense ? " The codes are sparse." : h2 ? " The density is better explained by an offset (H2)." : h3 ? " The density is better explained by the input scale (H3)." : !supported ? " Most activations are tiny rather than broadly spread." : "";
        return new Hypothesis
        {
            Id = "H1", Name = "weak sparsity", Supported = supported, Evidence = string.Join("; ", parts) + "." + tail, Numbers = nums,
            Advice = supported
                ? "The sparsity pressure is too weak: many features carry real (not tiny) values on every token. Train with a mechanism that fixes L0 directly — TopK or BatchTopK with k ≈ 32–64, or JumpReLU with an L0 target — or, for a ReLU + L1 SAE, raise the L1 coefficient (×3–10) after normalising the activations so the penalty acts on the scale you expect. Track L0 during training; aim for L0 far below the width (a few % at most)."
                : "",
        };
    }

    static double CoefVar(double[] v)
    {
        if (v.Length < 2) return 0;
        double m = v.Average();
        if (m == 0) return 0;
        double var = v.Sum(x => (x - m) * (x - m)) / v.Length;
        return Math.Sqrt(var) / m;
    }
}
