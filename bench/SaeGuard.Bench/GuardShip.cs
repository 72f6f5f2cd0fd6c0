using System.Diagnostics;
using SaeGuard.Data.Guard;
using SaeGuard.Data.Mixing;
using SaeGuard.Models;
using SaeGuard.Probes;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;

namespace SaeGuard.Bench;

/// <summary>
/// Trains the built-in default guard from the cached layer-4 activations of the guard set's training
/// split: a TopK SAE (768 latents, k 32) on training tokens, the 16-token span probe (look-alike and
/// benign wrapped-request spans weighted ×3, L2 C = <see cref="SpanC"/>) and the window-mean probe (L2 C = 1); the
/// span and window means weight each token by <see cref="TokenWeightPower"/> of its template-token weight
/// (<see cref="GuardSpanExperiments.TemplateTokenWeights"/>), the window term is scaled by <see cref="WindowScale"/>; the
/// threshold is the 95 % recall point of the plain harmful training prompts' 5-fold out-of-fold
/// logits, and Platt scaling is fitted on all out-of-fold training logits. Writes a span-guard folder.
/// </summary>
static class GuardShip
{
    public const int SpanLength = 16;
    /// <summary>Look-alike and benign wrapped-request spans repeat this often in the span probe's training set; wrapped harmful request spans <see cref="WrappedPositiveWeight"/>.</summary>
    public const int HardNegativeWeight = 3, WrappedPositiveWeight = 1;
    /// <summary>Template-token weights raised to this power in span and window means (0 = plain means).</summary>
    public const double TokenWeightPower = 2;
    /// <summary>Scale of the window-mean term in the logit.</summary>
    public const double WindowScale = 0.25;
    /// <summary>L2 inverse strength of the span probe (the window-mean probe uses C = 1).</summary>
    public const double SpanC = 0.03;

    public static void Run(IReadOnlyList<GuardRow> rows, GuardActivationCache c, int seed, string dir, Action<string> emit)
    {
        int d = c.D;
        var tok = BuiltInModels.MiniLmTokenizer();
        var isTrain = rows.Select(r => r.Split == GuardSplits.Train).ToArray();
        var fold = rows.Select(r => (int)((uint)GuardSetBuilder.StableHash(seed + (r.Template != "" ? "t:" + r.Template : "b:" + Deduplicator.Normalize(r.BaseText))) % 5)).ToArray();
        var yWin = c.Windows.Select(w => rows[w.Row].IsHarmful && w.HasRequest ? 1 : 0).ToArray();
        var trainWindows = Enumerable.Range(0, c.Windows.Count).Where(w => isTrain[c.Windows[w].Row]).ToList();

        // spans, each token weighted by how typical its id is of requests rather than of templates (training split)
        var exp = new GuardSpanExperiments(rows, c, emit);
        var tokenWeights = TokenWeightPower == 0 ? null : exp.TemplateTokenWeights(tok, tok.VocabSize).Select(w => Math.Pow(w, TokenWeightPower)).ToArray();
        var spans = exp.Build(tokenWeights);
        var xs = spans.X;
        var ys = spans.Y;
        var spanWindow = spans.Window;
        var weighted = exp.Training(spans, HardNegativeWeight, WrappedPositiveWeight);

        (double[] V, double B, double[] WV, double WB) Fit(Func<int, bool> rowOk)
        {
            var sp = ProbeFitting.FitL2(xs, d, weighted.Where(i => rowOk(c.Windows[spanWindow[i]].Row)).ToList(), ys, SpanC);
            var wp = ProbeFitting.FitL2(spans.WindowMean, d, trainWindows.Where(w => rowOk(c.Windows[w].Row)).ToList(), yWin, 1);
            var (v, b) = sp.RawDirection();
            var (wv, wb) = wp.RawDirection();
            // The window term enters the logit scaled by WindowScale; folded into its direction and offset.
            return (v, b, wv.Select(x => x * WindowScale).ToArray(), wb * WindowScale);
        }

        double[] RowLogits(double[] v, double b, double[] wv, double wb, Func<int, bool> rowOk)
        {
            var logits = Enumerable.Repeat(double.NegativeInfinity, rows.Count).ToArray();
            var winLogit = new double[c.Windows.Count];
            for (int w = 0; w < c.Windows.Count; w++) winLogit[w] = wb + Dot(wv, spans.WindowMean.AsSpan(w * d, d));
            for (int i = 0; i < ys.Length; i++)
            {
                int w = spanWindow[i], r = c.Windows[w].Row;
                if (!rowOk(r)) continue;
                logits[r] = Math.Max(logits[r], b + Dot(v, xs.AsSpan(i * d, d)) + winLogit[w]);
            }
            return logits;
        }

        var sw = Stopwatch.StartNew();
        var oof = Enumerable.Repeat(double.NegativeInfinity, rows.Count).ToArray();
        for (int k = 0; k < 5; k++)
        {
            int kk = k;
            var f = Fit(r => isTrain[r] && fold[r] != kk);
            var l = RowLogits(f.V, f.B, f.WV, f.WB, r => isTrain[r] && fold[r] == kk);
            for (int r = 0; r < rows.Count; r++) if (isTrain[r] && fold[r] == kk) oof[r] = l[r];
        }
        var trainIdx = Enumerable.Range(0, rows.Count).Where(r => isTrain[r]).ToArray();
        var plainH = trainIdx.Where(r => rows[r].Kind == GuardKinds.PlainHarmful).ToArray();
        double tLogit = BinaryMetrics.ThresholdForTpr(plainH.Select(r => oof[r]).ToArray(), plainH.Select(_ => 1).ToArray(), 0.95);
        var platt = PlattScaling.Fit(trainIdx.Select(r => oof[r]).ToArray(), trainIdx.Select(r => rows[r].IsHarmful ? 1 : 0).ToArray());
        emit($"5-fold OOF fits: {sw.Elapsed.TotalSeconds:F0} s; threshold logit {tLogit:F3}, Platt A {platt.A:F3} B {platt.B:F3}");

        var final = Fit(r => isTrain[r]);
        var all = RowLogits(final.V, final.B, final.WV, final.WB, _ => true);

        // SAE on training tokens (every second token of the training windows)
        var sample = new List<float>();
        foreach (var w in trainWindows)
        {
            var t = c.Tokens(c.Windows[w]);
            for (int k = 0; k < c.Windows[w].Tokens; k += 2) for (int j = 0; j < d; j++) sample.Add((float)t[k * d + j]);
        }
        sw.Restart();
        var data = sample.ToArray();
        var sae = SaeTrainer.Train(data, d, new SaeTrainOptions { Arch = "topk", K = 32, Latents = 768, Tokens = 3L * (data.Length / d), Seed = seed, BatchSize = 2048 });
        emit($"SAE 768 latents k 32 on {data.Length / d:N0} tokens × 3 epochs: {sw.Elapsed.TotalSeconds:F0} s");
        var labels = Labels(rows, c, sae, tok, trainWindows);
        var model = new SpanGuardModel(SpanLength, final.V, final.B, final.WV, final.WB, sae, labels, tokenWeights);

        var metrics = new Dictionary<string, Dictionary<string, double>>();
        foreach (var (name, scores, split, t) in new[] { ("cv_train", oof, GuardSplits.Train, (double?)tLogit), ("val", all, GuardSplits.Validation, (double?)tLogit),
                     ("val_own_t95", all, GuardSplits.Validation, null), ("test", all, GuardSplits.Test, (double?)tLogit), ("test_own_t95", all, GuardSplits.Test, null) })
        {
            var f = GuardEvaluation.Figures(rows, scores, split, t);
            emit(f.Row($"shipped guard: {name}"));
            metrics[name] = new()
            {
                ["plain_auroc"] = f.PlainAuroc, ["threshold_logit"] = f.Threshold, ["plain_harmful_recall"] = f.PlainHarmfulRecall,
                ["plain_benign_fpr"] = f.PlainBenignFpr, ["lookalike_fpr"] = f.LookalikeFpr, ["wrapped_harmful_recall"] = f.WrappedRecall,
                ["wrapped_benign_flagged"] = f.WrappedBenignFpr, ["harmful_vs_lookalike_auroc"] = f.LookalikeAuroc,
            };
        }
        var manifest = new SpanGuardManifest
        {
            SpanLength = SpanLength,
            TokenWeighting = tokenWeights == null ? "none" : $"template-token weights ((request rate + 1) / (request rate + template rate + 2) per id over the training split)^{TokenWeightPower}; window term ×{WindowScale}",
            ThresholdLogit = tLogit, Threshold = platt.Apply(tLogit), PlattA = platt.A, PlattB = platt.B, Seed = seed,
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"), Labels = labels.ToList(), Metrics = metrics,
            TrainingRows = GuardKinds.All.ToDictionary(k => k, k => trainIdx.Count(r => rows[r].Kind == k)),
            Recipe = "dotnet run --project bench/SaeGuard.Bench -c Release -- guard-quality --stage ship --seed " + seed,
        };
        SpanGuardBundle.Write(dir, model, manifest);
        emit($"shipped guard written to {dir}");
    }

    static string[] Labels(IReadOnlyList<GuardRow> rows, GuardActivationCache c, SaeModel sae, WordPieceTextTokenizer tok, List<int> trainWindows)
    {
        int d = c.D, m = sae.DSae;
        var stats = new FeatureTokenStats(m, 8);
        var byRow = trainWindows.GroupBy(w => c.Windows[w].Row);
        foreach (var g in byRow)
        {
            var full = tok.Encode(rows[g.Key].Text, 1 << 20);
            var windows = TokenWindows.Split(full, 256);
            var ws = g.ToList();
            for (int i = 0; i < ws.Count && i < windows.Count; i++)
            {
                var win = c.Windows[ws[i]];
                var ids = windows[i].Tokens.Ids.Where((_, k) => !windows[i].Tokens.IsSpecial[k]).ToArray();
                if (ids.Length != win.Tokens) continue;
                var t = c.Tokens(win);
                var x = new float[win.Tokens * d];
                for (int k = 0; k < x.Length; k++) x[k] = (float)t[k];
                var z = sae.Encode(x, win.Tokens);
                for (int k = 0; k < win.Tokens; k++) stats.Add(z.AsSpan(k * m, m), ws[i], k, ids[k]);
            }
        }
        return Enumerable.Range(0, m).Select(j => FeatureCatalog.LabelOf(stats.Top(j).Select(h => tok.TokenText(h.TokenId)))).ToArray();
    }

    static double Dot(double[] v, ReadOnlySpan<float> x)
    {
        double s = 0;
        for (int i = 0; i < v.Length; i++) s += v[i] * x[i];
        return s;
    }
}
