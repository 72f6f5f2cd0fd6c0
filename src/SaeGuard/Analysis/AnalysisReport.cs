using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.Reports;
using static SaeGuard.Analysis.Fmt;

namespace SaeGuard.Analysis;

/// <summary>
/// Writes the report folder (SPEC.md "report/") atomically: feature_stats.npz,
/// activation_report/01…07_*.png, diagnosis.json and a self-contained report.html.
/// </summary>
public static class AnalysisReport
{
    public const string StatsFile = "feature_stats.npz", DiagnosisFile = "diagnosis.json", HtmlFile = "report.html", PlotDir = "activation_report";

    public static void Write(string outDir, AnalysisResult r)
    {
        using var dir = new AtomicDirectory(outDir);
        StatsNpz(r.Stats).Save(dir.File(StatsFile), compress: true);
        Directory.CreateDirectory(dir.File(PlotDir));
        var plots = AnalysisPlots.Render(r.Stats, r.Pca, r.DocGroup, r.GroupKind, r.Labels);
        if (r.Categories != null) plots.AddRange(CategoryPlots.Render(r.Stats, r.Pca, r.Categories, r.Labels));
        foreach (var (file, png, _) in plots) File.WriteAllBytes(dir.File(Path.Combine(PlotDir, file)), png);
        File.WriteAllText(dir.File(DiagnosisFile), JsonSerializer.Serialize(DiagnosisJson(r), JsonDefaults.Pretty));
        Html(r, plots).Save(dir.File(HtmlFile));
        dir.Commit();
    }

    /// <summary>fr, max, min, mean, mean_active, std, count per feature; l0 and row of each sampled token; the eps table; the L0 histogram.</summary>
    public static NpzWriter StatsNpz(FeatureStats s)
    {
        var sample = s.Sample.Rows.OrderBy(x => x.RowId).ToList();
        return new NpzWriter()
            .Add("fr", s.FiringRate).Add("max", s.Max).Add("min", s.Min).Add("mean", s.Mean)
            .Add("mean_active", s.MeanActive).Add("std", s.Std).Add("count", s.ActiveCount)
            .Add("l0", sample.Select(x => x.L0).ToArray()).Add("l0_row", sample.Select(x => x.RowId).ToArray())
            .Add("l0_hist", s.L0Histogram)
            .Add("eps", FeatureStats.EpsLevels.ToArray())
            .Add("eps_frac", s.EpsTable.Select(e => e.FracAbove).ToArray())
            .Add("eps_active_per_token", s.EpsTable.Select(e => e.ActivePerToken).ToArray())
            .Add("n_tokens", new long[] { s.Tokens });
    }

    public static object DiagnosisJson(AnalysisResult r)
    {
        var s = r.Stats; var v = s.Values;
        return new Dictionary<string, object?>
        {
            ["input"] = new Dictionary<string, object?>
            {
                ["path"] = r.Facts.Path, ["source"] = r.Facts.Source, ["tokens"] = s.Tokens, ["width"] = s.Width,
                ["special_tokens_skipped"] = r.Facts.SpecialTokensSkipped, ["meta_tokens"] = r.Facts.MetaTokens, ["meta_width"] = r.Facts.MetaWidth,
                ["orientation"] = r.Facts.Orientation, ["device"] = r.Facts.Device,
            },
            ["value_stats"] = new Dictionary<string, object?>
            {
                ["min"] = v.Min, ["median"] = v.Median, ["mean"] = v.Mean, ["max"] = v.Max,
                ["p1"] = v.P1, ["p5"] = v.P5, ["p50"] = v.P50, ["p95"] = v.P95, ["p99"] = v.P99,
                ["negative_fraction"] = v.NegativeFraction, ["zero_fraction"] = v.ZeroFraction, ["non_finite"] = v.NonFinite,
                ["quantile_method"] = v.QuantileMethod,
            },
            ["eps_table"] = s.EpsTable.Select(e => new Dictionary<string, object> { ["eps"] = e.Eps, ["frac_above"] = e.FracAbove, ["active_per_token"] = e.ActivePerToken }).ToList(),
            ["l0"] = new Dictionary<string, object> { ["mean"] = s.L0.Mean, ["median"] = s.L0.Median, ["p95"] = s.L0.P95, ["p99"] = s.L0.P99, ["min"] = s.L0.Min, ["max"] = s.L0.Max, ["std"] = s.L0.Std },
            ["dead_features"] = s.Dead,
            ["always_on_050"] = s.AlwaysOn50,
            ["always_on_099"] = s.AlwaysOn99,
            ["offset_energy_share"] = s.OffsetEnergyShare,
            ["verdict"] = r.Diagnosis.Verdict,
            ["verdict_reason"] = r.Diagnosis.VerdictReason,
            ["hypotheses"] = r.Diagnosis.Hypotheses.Select(h => new Dictionary<string, object?>
            {
                ["id"] = h.Id, ["name"] = h.Name, ["supported"] = h.Supported, ["evidence"] = h.Evidence,
                ["advice"] = h.Supported ? h.Advice : null, ["numbers"] = h.Numbers,
            }).ToList(),
            ["sae"] = r.Sae == null ? null : new Dictionary<string, object?>
            {
                ["architecture"] = r.Sae.Architecture, ["d_in"] = r.Sae.DIn, ["d_sae"] = r.Sae.DSae,
                ["b_enc_mean"] = r.Sae.BEncMean, ["b_enc_median"] = r.Sae.BEncMedian, ["b_enc_positive_share"] = r.Sae.BEncPositiveShare,
                ["positive_at_b_dec"] = r.Sae.PositiveAtBDec, ["train_norm"] = r.Sae.TrainNorm, ["l1_coefficient"] = r.Sae.L1Coefficient,
            },
            ["reconstruction"] = r.Reconstruction == null ? null : new Dictionary<string, object?>
            {
                ["explained_variance"] = r.Reconstruction.ExplainedVariance, ["nmse"] = r.Reconstruction.Nmse, ["mean_norm"] = r.Reconstruction.MeanNorm,
                ["pre_activation_mean"] = r.Reconstruction.PreActivationMean, ["pre_activation_std"] = r.Reconstruction.PreActivationStd,
                ["features_with_positive_mean_pre"] = r.Reconstruction.FeaturesWithPositiveMeanPre,
                ["scale_probe"] = r.Reconstruction.ScaleProbe.Select(p => new Dictionary<string, double> { ["scale"] = p.Scale, ["explained_variance"] = p.ExplainedVariance }).ToList(),
            },
            ["categories"] = r.Categories == null ? null : CategoryReport.Json(r.Categories, r.Labels),
            ["pca"] = r.Pca == null ? null : new Dictionary<string, object> { ["mode"] = r.Pca.Mode.ToString().ToLowerInvariant(), ["points"] = r.Pca.Rows.Count, ["explained_pc1"] = r.Pca.Explained1, ["explained_pc2"] = r.Pca.Explained2 },
            ["sample_tokens"] = s.Sample.Rows.Count,
            ["passes"] = s.Passes,
            ["seed"] = r.Options.Seed,
            ["seconds"] = Math.Round(r.Seconds, 3),
            ["tool_version"] = ToolInfo.Version,
        };
    }

    static HtmlReport Html(AnalysisResult r, List<(string File, byte[] Png, string Caption)> plots)
    {
        var s = r.Stats; var v = s.Values; var d = r.Diagnosis;
        var page = new HtmlReport("SaeGuard feature analysis",
            $"{r.Facts.Source}: {r.Facts.Path} · {Int(s.Tokens)} tokens × {Int(s.Width)} features" + (r.Facts.SpecialTokensSkipped ? " · special tokens skipped" : "") + (r.Facts.Device != null ? $" · encoded on {r.Facts.Device}" : ""));
        var kind = d.Verdict switch { "sparse" when !d.Supported.Any() => CalloutKind.Good, "sparse" or "dense" => CalloutKind.Warning, _ => CalloutKind.Bad };
        page.Callout($"Verdict: {d.Verdict}", d.VerdictReason, kind);

        page.Heading("Diagnosis", 2, "diagnosis");
        page.RawHtml("<table><thead><tr><th>id</th><th>hypothesis</th><th>supported</th><th>evidence</th></tr></thead><tbody>"
            + string.Concat(d.Hypotheses.Select(h => $"<tr><td>{h.Id}</td><td>{HtmlReport.Escape(h.Name)}</td><td class=\"{(h.Supported ? "yes" : "no")}\">{(h.Supported ? "yes" : "no")}</td><td>{HtmlReport.Escape(h.Evidence)}</td></tr>"))
            + "</tbody></table>");
        var supported = d.Supported.ToList();
        if (supported.Count == 0)
            page.Paragraph(d.Verdict == "sparse" ? "No problem found: the codes are sparse and behave like SAE codes." : "No hypothesis is supported by the numbers; look at the tables and plots below.");
        foreach (var h in supported)
        {
            page.Heading($"What to do about {h.Id} ({h.Name})", 3);
            page.Paragraph(h.Advice);
        }

        page.Heading("Sparsity table", 2, "tables");
        page.Table(new[] { "eps", "fraction of values > eps", "active features per token (> eps)" },
            s.EpsTable.Select(e => (IReadOnlyList<string>)new[] { N(e.Eps, 4), N(e.FracAbove, 4), N(e.ActivePerToken, 1) }),
            "Share of all token × feature values above eps, and the mean count above eps per token.");
        page.Table(new[] { "L0 mean", "median", "p95", "p99", "min", "max" },
            new[] { (IReadOnlyList<string>)new[] { N(s.L0.Mean, 1), N(s.L0.Median, 1), N(s.L0.P95, 1), N(s.L0.P99, 1), Int(s.L0.Min), Int(s.L0.Max) } },
            "Active features (value > 0) per token, over all analysed tokens.");
        page.Table(new[] { "features", "dead (never > 0)", "fire on > 50% of tokens", "fire on > 99% of tokens", "offset energy share" },
            new[] { (IReadOnlyList<string>)new[] { Int(s.Width), Int(s.Dead), Int(s.AlwaysOn50), Int(s.AlwaysOn99), Pct(s.OffsetEnergyShare) } });
        page.Table(new[] { "min", "p1", "p5", "median", "mean", "p95", "p99", "max", "negative", "exact zeros" },
            new[] { (IReadOnlyList<string>)new[] { N(v.Min), N(v.P1), N(v.P5), N(v.Median), N(v.Mean), N(v.P95), N(v.P99), N(v.Max), Pct(v.NegativeFraction), Pct(v.ZeroFraction) } },
            $"All values of the matrix. Percentiles: {v.QuantileMethod}.");

        if (r.Sae != null || r.Reconstruction != null)
        {
            page.Heading("SAE", 2, "sae");
            var rows = new List<(string, string)>();
            if (r.Sae != null)
            {
                rows.Add(("architecture", r.Sae.Architecture));
                rows.Add(("d_in × d_sae", $"{Int(r.Sae.DIn)} × {Int(r.Sae.DSae)}"));
                rows.Add(("b_enc mean / median / positive", $"{N(r.Sae.BEncMean)} / {N(r.Sae.BEncMedian)} / {Pct(r.Sae.BEncPositiveShare)}"));
                rows.Add(("latents firing at x = b_dec", Int(r.Sae.PositiveAtBDec)));
                rows.Add(("training scale (mean ‖x‖)", r.Sae.TrainNorm != null ? $"{N(r.Sae.TrainNorm.Value)} ({r.Sae.TrainNormSource})" : "not recorded"));
                if (r.Sae.L1Coefficient != null) rows.Add(("L1 coefficient", N(r.Sae.L1Coefficient.Value)));
            }
            if (r.Reconstruction is { } rc)
            {
                rows.Add(("mean ‖x‖ analysed", N(rc.MeanNorm)));
                rows.Add(("explained variance", N(rc.ExplainedVariance)));
                rows.Add(("normalised MSE", N(rc.Nmse)));
                rows.Add(("pre-activation mean (std)", $"{N(rc.PreActivationMean)} ({N(rc.PreActivationStd)})"));
                foreach (var (scale, ev) in rc.ScaleProbe) rows.Add(($"explained variance at input × {N(scale, 3)} (sample)", N(ev)));
            }
            page.KeyValues(rows);
        }

        if (r.Categories != null) CategoryReport.Html(page, r.Categories, r.Labels);

        page.Heading("Plots", 2, "plots");
        foreach (var (file, png, caption) in plots) page.Image(png, file, $"{file}: {caption}");

        page.Heading("How these numbers were computed", 2, "method");
        var t = DiagnosisThresholds.Default;
        page.List(new[]
        {
            $"Statistics stream over all {Int(s.Tokens)} tokens in {s.Passes} pass(es); percentiles: {v.QuantileMethod}.",
            $"The token sample ({Int(s.Sample.Rows.Count)} of {Int(s.Tokens)}, seed {r.Options.Seed}) is a uniform reservoir sample; the PCA uses {Int(r.Pca?.Rows.Count ?? 0)} of them (memory cap {Int(s.Sample.PcaMemoryBytes >> 20)} MiB).",
            $"Verdict: sparse when mean L0 ≤ min({Pct(t.SparseFraction)} of the width, {N(t.SparseMaxL0, 0)}); suspicious when the AXIS check fires or values are NaN/inf; dense otherwise.",
            $"H1 (weak sparsity): dense, and ≥ {Pct(t.SlowEpsRetention)} of the active features stay above eps = 0.01, or a ReLU SAE whose cfg records an L1 coefficient ≤ {N(t.SmallL1)}; not when H2 or H3 explain the density.",
            $"H2 (bias/offset): ≥ {Pct(t.AlwaysOnShare)} of features fire on > 99% of tokens, or dense codes whose mean vector carries ≥ {Pct(t.OffsetEnergyShare)} of their energy, or (with --sae) ≥ {Pct(t.PositiveLatentShare)} of latents positive at x = b_dec or with a positive mean pre-activation.",
            $"H3 (normalisation mismatch, needs --sae): mean ‖x‖ differs from the SAE's training scale by more than ×{N(t.NormRatio)}; without a recorded scale, another input scale raises explained variance by ≥ {N(t.ProbeGain)} on a token sample.",
            $"AXIS: ≥ {Pct(t.NegativeShare)} negative values (codes are never negative), meta.json counts that fit only the transpose, every feature firing on the same number of tokens (TopK transposed), or token L0 spread like feature frequencies.",
        });
        return page;
    }
}
