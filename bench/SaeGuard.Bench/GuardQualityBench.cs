using System.Diagnostics;
using System.Text;
using SaeGuard.Data.Guard;
using SaeGuard.Data.Mixing;
using SaeGuard.Probes;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;

namespace SaeGuard.Bench;

/// <summary>
/// Guard quality experiments on the guard sets (Data/Guard): builds the sets from ../shared/data,
/// extracts MiniLM activations once per layer (cached under bench/out/guard-quality), then compares
/// training data, pooling, long-text windows, token-level pooling, SAE features, two-part decisions,
/// multiple layers and calibration on the validation split (and by 5-fold CV on the training split).
/// Everything is seeded. Args: [--shared ../shared/data] [--out bench/out/guard-quality] [--seed 1]
/// [--stage sets|dense|spans|wrap|ship|all] [--extra-benign N] (benign requests added per training template) [--test] (also prints the chosen configuration's test-split figures)
/// [--layers] (also extracts layers 3 and 5 for the multi-layer rows).
/// </summary>
public sealed class GuardQualityBench : IBenchmark
{
    public string Name => "guard-quality";
    public string Description => "guard training data / pooling / windows / SAE / calibration on look-alike and jailbreak-wrapped validation sets";

    IReadOnlyList<GuardRow> _rows = null!;
    GuardActivationCache _c = null!;
    int[] _yWin = null!, _yRow = null!, _fold = null!;
    readonly StringBuilder _md = new();

    public void Run(string[] args)
    {
        string shared = "../shared/data", outDir = "bench/out/guard-quality", stage = "all";
        var defaults = new GuardSetOptions { SharedData = shared };
        int seed = 1, extraBenign = defaults.ExtraTrainWrappedBenign, extraHarmful = defaults.ExtraTrainWrappedHarmful;
        bool test = false, layers = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--shared": shared = args[++i]; break;
                case "--out": outDir = args[++i]; break;
                case "--seed": seed = int.Parse(args[++i]); break;
                case "--stage": stage = args[++i]; break;
                case "--test": test = true; break;
                case "--layers": layers = true; break;
                case "--extra-benign": extraBenign = int.Parse(args[++i]); break;
                case "--extra-harmful": extraHarmful = int.Parse(args[++i]); break;
                case "--wrap-grid":
                    // powers;hard;positive;C;lambda, each comma-separated: only template-token-weighted configurations
                    var g = args[++i].Split(';').Select(p => p.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
                    GuardSpanExperiments.Configs = []; GuardSpanExperiments.Powers = g[0]; GuardSpanExperiments.HardWeights = g[1].Select(v => (int)v).ToArray();
                    GuardSpanExperiments.PositiveWeights = g[2].Select(v => (int)v).ToArray(); GuardSpanExperiments.Cs = g[3]; GuardSpanExperiments.Lambdas = g[4];
                    break;
                case "--wrap-quick": GuardSpanExperiments.Configs = [(3, 0.1)]; GuardSpanExperiments.Lambdas = [1.0, 0.5]; GuardSpanExperiments.Powers = [2.0, 3.0]; GuardSpanExperiments.PositiveWeights = [1, 3]; break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        Directory.CreateDirectory(outDir);
        _rows = GuardSetBuilder.Build(new GuardSetOptions { SharedData = shared, Seed = seed, ExtraTrainWrappedBenign = extraBenign, ExtraTrainWrappedHarmful = extraHarmful });
        GuardSetFile.Write(Path.Combine(outDir, "guardset.csv"), _rows);
        GuardSetStats.Print(_rows, 256);
        if (stage == "sets") return;

        _c = GuardActivationCache.Load(_rows, 4, outDir);
        if (stage == "wrap")
        {
            Emit($"extra wrapped training rows per training template: benign {extraBenign}, harmful {extraHarmful}");
            GuardSpanExperiments.Run(_rows, _c, Emit);
            Flush(outDir);
            return;
        }
        if (stage == "ship")
        {
            Emit("## Shipped default guard (16-token spans + window mean, layer 4)");
            Emit(GuardFigures.Header);
            GuardShip.Run(_rows, _c, seed, Path.Combine(outDir, "default-guard"), Emit);
            Flush(outDir);
            return;
        }
        _yRow = _rows.Select(r => r.IsHarmful ? 1 : 0).ToArray();
        _yWin = _c.Windows.Select(w => _rows[w.Row].IsHarmful && w.HasRequest ? 1 : 0).ToArray();
        _fold = _rows.Select(r => Fold(r, seed)).ToArray();
        int d = _c.D;

        Emit("## Training data and long-text windows (dense probe, layer 4, mean pooling, L2 C=1; validation split)");
        Emit(GuardFigures.Header);
        var readme = TrainWindows(r => r.Split == GuardSplits.Train && (r.Source.StartsWith("advbench") || r.Source.StartsWith("refusal_direction_alpaca")), firstOnly: true);
        var plain = TrainWindows(r => r.Split == GuardSplits.Train && r.Kind is GuardKinds.PlainHarmful or GuardKinds.PlainBenign, firstOnly: true);
        var plainLook = TrainWindows(r => r.Split == GuardSplits.Train && r.Kind is GuardKinds.PlainHarmful or GuardKinds.PlainBenign or GuardKinds.Lookalike, firstOnly: true);
        var allFirst = TrainWindows(r => r.Split == GuardSplits.Train, firstOnly: true);
        var allWin = TrainWindows(r => r.Split == GuardSplits.Train, firstOnly: false);
        var yRowWin = _c.Windows.Select(w => _yRow[w.Row]).ToArray();
        Dense("README recipe (AdvBench vs Alpaca), 256-token cut", _c.Mean, d, readme, yRowWin, windowed: false);
        Dense("README recipe, windows (max over windows)", _c.Mean, d, readme, yRowWin, windowed: true);
        Dense("all plain sets, 256-token cut", _c.Mean, d, plain, yRowWin, windowed: false);
        Dense("plain + look-alikes, 256-token cut", _c.Mean, d, plainLook, yRowWin, windowed: false);
        Dense("plain + look-alikes, windows", _c.Mean, d, plainLook, yRowWin, windowed: true);
        Dense("guard set (plain + look-alike + wrapped), 256-token cut, row labels", _c.Mean, d, allFirst, yRowWin, windowed: false);
        var main = Dense("guard set, windows, window labels (request window = row label)", _c.Mean, d, allWin, _yWin, windowed: true);
        foreach (var cc in new[] { 0.03, 0.1, 0.3, 3.0 })
            Dense($"guard set, windows, C = {cc}", _c.Mean, d, allWin, _yWin, windowed: true, c: cc);

        Emit("");
        Emit("## Pooling (guard set, windows)");
        Emit(GuardFigures.Header);
        Dense("max pooling", _c.Max, d, allWin, _yWin, windowed: true);
        var meanMax = Concat(_c.Mean, _c.Max, d, d);
        Dense("mean ‖ max pooling", meanMax, 2 * d, allWin, _yWin, windowed: true);
        TokenPooling(main, allWin);

        Spans(allWin, seed);
        if (stage == "spans") { Flush(outDir); return; }
        CrossValidated(main.Probe, allWin);

        if (stage == "dense") { Flush(outDir); return; }
        Sae(allWin, outDir, seed);
        TwoPart(allWin);
        if (layers) MultiLayer(allWin, outDir);
        Calibrate(allWin);
        if (test)
        {
            Emit("");
            Emit("## Test split (chosen configuration, once)");
            Emit(GuardFigures.Header);
            var scores = main.RowScores;
            Emit(GuardEvaluation.Figures(_rows, scores, GuardSplits.Test).Row("guard set, windows, mean, C=1: test split"));
        }
        Flush(outDir);
    }

    static int Fold(GuardRow r, int seed)
    {
        var key = r.Template != "" ? "t:" + r.Template : "b:" + Deduplicator.Normalize(r.BaseText);
        return (int)((uint)GuardSetBuilder.StableHash(seed + key) % 5);
    }


    void Emit(string line) { Console.WriteLine(line); _md.AppendLine(line); }

    void Flush(string outDir)
    {
        var uptime = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
        Emit("");
        Emit($"load average at the end: {uptime}");
        File.WriteAllText(Path.Combine(outDir, "guard-quality.md"), _md.ToString());
    }

    List<int> TrainWindows(Func<GuardRow, bool> rowFilter, bool firstOnly) =>
        Enumerable.Range(0, _c.Windows.Count).Where(w => rowFilter(_rows[_c.Windows[w].Row]) && (!firstOnly || _c.Windows[w].Start == 0)).ToList();

    sealed record Fitted(LinearProbe Probe, double[] WindowScores, double[] RowScores, GuardFigures Val);

    Fitted Dense(string name, float[] x, int width, List<int> train, int[] labels, bool windowed, double c = 1)
    {
        var sw = Stopwatch.StartNew();
        var probe = ProbeFitting.FitL2(x, width, train, labels, c);
        var ws = new double[_c.Windows.Count];
        for (int w = 0; w < ws.Length; w++) ws[w] = probe.Logit(x.AsSpan(w * width, width));
        var rs = GuardEvaluation.RowScores(_c, _rows.Count, ws, windowed);
        var f = GuardEvaluation.Figures(_rows, rs, GuardSplits.Validation);
        Emit(f.Row(name) + $" <!-- {train.Count} windows, {sw.Elapsed.TotalSeconds:F1} s -->");
        return new Fitted(probe, ws, rs, f);
    }

    static float[] Concat(float[] a, float[] b, int wa, int wb)
    {
        int n = a.Length / wa;
        var o = new float[n * (wa + wb)];
        for (int i = 0; i < n; i++)
        {
            a.AsSpan(i * wa, wa).CopyTo(o.AsSpan(i * (wa + wb)));
            b.AsSpan(i * wb, wb).CopyTo(o.AsSpan(i * (wa + wb) + wa));
        }
        return o;
    }

    /// <summary>The mean-trained dense direction applied per token, pooled over tokens in other ways.</summary>
    void TokenPooling(Fitted main, List<int> train)
    {
        var (v, offset) = main.Probe.RawDirection();
        int d = _c.D;
        var tokenLogits = new double[_c.Windows.Count][];
        var buf = new float[d];
        for (int w = 0; w < _c.Windows.Count; w++)
        {
            var t = _c.Tokens(_c.Windows[w]);
            var l = new double[_c.Windows[w].Tokens];
            for (int k = 0; k < l.Length; k++)
            {
                double z = offset;
                for (int j = 0; j < d; j++) z += v[j] * (double)t[k * d + j];
                l[k] = z;
            }
            tokenLogits[w] = l;
        }
        foreach (var (name, pool) in new (string, Func<double[], double>)[]
        {
            ("token logits: mean (= mean pooling)", l => l.Length == 0 ? offset : l.Average()),
            ("token logits: max", l => l.Length == 0 ? offset : l.Max()),
            ("token logits: top-4 mean", l => l.Length == 0 ? offset : l.OrderByDescending(x => x).Take(4).Average()),
            ("token logits: top-16 mean", l => l.Length == 0 ? offset : l.OrderByDescending(x => x).Take(16).Average()),
            ("token logits: softmax-weighted (attention-like, β=1)", l => SoftmaxPool(l, 1, offset)),
            ("token logits: softmax-weighted (β=0.3)", l => SoftmaxPool(l, 0.3, offset)),
        })
        {
            var ws = tokenLogits.Select(pool).ToArray();
            Emit(GuardEvaluation.Figures(_rows, GuardEvaluation.RowScores(_c, _rows.Count, ws, true), GuardSplits.Validation).Row(name));
        }
    }

    /// <summary>
    /// Short spans: the mean over every run of L consecutive non-special tokens (stride L/2) of a window,
    /// scored by a probe trained on spans (a span is harmful when it holds at least half of a harmful
    /// request, or of the whole request when that is shorter than L); a row scores its highest span.
    /// </summary>
    void Spans(List<int> trainWindows, int seed)
    {
        Emit("");
        Emit("## Short spans inside windows (dense mean over L tokens, max over spans; probe trained on spans)");
        Emit(GuardFigures.Header);
        var tok = SaeGuard.Models.BuiltInModels.MiniLmTokenizer();
        var req = _rows.Select(r => GuardTrainingWindows.RequestSpan(tok, r)).ToArray();
        var trainSet = trainWindows.ToHashSet();
        int d = _c.D;
        foreach (var L in new[] { 16, 32 })
        {
            var (x, y, spanWindow, width) = SpanFeatures(L, req, withWindowMean: false);
            var (xc, _, _, widthC) = SpanFeatures(L, req, withWindowMean: true);
            var train = Enumerable.Range(0, y.Length).Where(i => trainSet.Contains(spanWindow[i])).ToList();
            // Weighting by repetition: look-alike spans and benign wrapped-request spans count three times.
            var heavy = train.Concat(train.Where(i => y[i] == 0 && IsHardNegative(_rows[_c.Windows[spanWindow[i]].Row], _c.Windows[spanWindow[i]].HasRequest))
                .SelectMany(i => new[] { i, i })).ToList();
            var meanProbe = ProbeFitting.FitL2(_c.Mean, d, trainWindows, _yWin, 1);
            foreach (var (name, xs, w, rowsUsed, c, addMean) in new (string, float[], int, List<int>, double, bool)[]
            {
                ($"spans of {L}, C = 0.1", x, width, train, 0.1, false),
                ($"spans of {L}, hard negatives ×3, C = 0.1", x, width, heavy, 0.1, false),
                ($"spans of {L}, hard negatives ×3, C = 1", x, width, heavy, 1, false),
                ($"span mean ‖ window mean, hard negatives ×3, C = 0.1", xc, widthC, heavy, 0.1, false),
                ($"span mean ‖ window mean, hard negatives ×3, C = 1", xc, widthC, heavy, 1, false),
                ($"spans of {L} (×3, C = 0.1) + window-mean probe logit", x, width, heavy, 0.1, true),
            })
            {
                var probe = ProbeFitting.FitL2(xs, w, rowsUsed, y, c);
                var ws = Enumerable.Repeat(double.NegativeInfinity, _c.Windows.Count).ToArray();
                for (int i = 0; i < y.Length; i++) ws[spanWindow[i]] = Math.Max(ws[spanWindow[i]], probe.Logit(xs.AsSpan(i * w, w)));
                if (addMean) for (int k = 0; k < ws.Length; k++) ws[k] += meanProbe.Logit(_c.Mean.AsSpan(k * d, d));
                var f = GuardEvaluation.Figures(_rows, GuardEvaluation.RowScores(_c, _rows.Count, ws, true), GuardSplits.Validation);
                Emit(f.Row(name) + $" <!-- {rowsUsed.Count} training spans -->");
            }
        }
    }

    static bool IsHardNegative(GuardRow r, bool hasRequest) =>
        r.Kind == GuardKinds.Lookalike || (r.Kind == GuardKinds.WrappedBenign && hasRequest);

    (float[] X, int[] Y, List<int> SpanWindow, int Width) SpanFeatures(int L, (int Start, int Length)[] req, bool withWindowMean)
    {
        int d = _c.D, width = withWindowMean ? 2 * d : d;
        var spanWindow = new List<int>();
        var spanY = new List<int>();
        var feats = new List<float>();
        var m = new double[d];
        for (int w = 0; w < _c.Windows.Count; w++)
        {
            var win = _c.Windows[w];
            int n = win.Tokens;
            var t = _c.Tokens(win);
            var (rs, rl) = req[win.Row];
            var starts = new List<int>();
            if (n <= L) starts.Add(0);
            else { for (int s0 = 0; s0 + L < n; s0 += L / 2) starts.Add(s0); starts.Add(n - L); }
            foreach (var s0 in starts.Distinct())
            {
                int len = Math.Min(L, n);
                Array.Clear(m);
                for (int k = s0; k < s0 + len; k++) for (int j = 0; j < d; j++) m[j] += (double)t[k * d + j];
                foreach (var v in m) feats.Add((float)(v / Math.Max(1, len)));
                if (withWindowMean) for (int j = 0; j < d; j++) feats.Add(_c.Mean[w * d + j]);
                int a = win.Start + s0, b = a + len;
                int overlap = Math.Max(0, Math.Min(b, rs + rl) - Math.Max(a, rs));
                spanY.Add(_rows[win.Row].IsHarmful && overlap * 2 >= Math.Min(rl, len) ? 1 : 0);
                spanWindow.Add(w);
            }
        }
        return (feats.ToArray(), spanY.ToArray(), spanWindow, width);
    }

    static double SoftmaxPool(double[] l, double beta, double empty)
    {
        if (l.Length == 0) return empty;
        double m = l.Max(), zs = 0, s = 0;
        foreach (var x in l) { double e = Math.Exp(beta * (x - m)); zs += e; s += e * x; }
        return s / zs;
    }

    /// <summary>5-fold CV on the training split (folds by template for wrapped rows, by base prompt otherwise).</summary>
    double[] CrossValidated(LinearProbe _, List<int> train, float[]? x = null, int width = 0, string name = "guard set, windows, mean, C=1", double c = 1)
    {
        x ??= _c.Mean; if (width == 0) width = _c.D;
        var oof = new double[_c.Windows.Count];
        for (int k = 0; k < 5; k++)
        {
            var fit = train.Where(w => _fold[_c.Windows[w].Row] != k).ToList();
            var probe = ProbeFitting.FitL2(x, width, fit, _yWin, c);
            foreach (var w in train.Where(w => _fold[_c.Windows[w].Row] == k)) oof[w] = probe.Logit(x.AsSpan(w * width, width));
        }
        var rs = GuardEvaluation.RowScores(_c, _rows.Count, oof, true);
        var f = GuardEvaluation.Figures(_rows, rs, GuardSplits.Train);
        Emit("");
        Emit($"5-fold CV on the training split ({name}), out-of-fold:");
        Emit(GuardFigures.Header);
        Emit(f.Row(name + " (CV, train split)"));
        return rs;
    }

    void Sae(List<int> train, string outDir, int seed)
    {
        Emit("");
        Emit("## SAE features (TopK k=32, 1536 latents, trained on training-split tokens of layer 4)");
        int d = _c.D;
        var rng = new Random(seed);
        var trainTokenWindows = train.Where(w => _c.Windows[w].Tokens > 0).ToList();
        var sample = new List<float>();
        foreach (var w in trainTokenWindows)
        {
            var t = _c.Tokens(_c.Windows[w]);
            for (int k = 0; k < _c.Windows[w].Tokens; k++)
                if (rng.NextDouble() < 0.6)
                    for (int j = 0; j < d; j++) sample.Add((float)t[k * d + j]);
        }
        var data = sample.ToArray();
        var sw = Stopwatch.StartNew();
        var sae = SaeTrainer.Train(data, d, new SaeTrainOptions { Arch = "topk", K = 32, Latents = 1536, Tokens = 4L * (data.Length / d), Seed = seed, BatchSize = 2048 });
        Emit($"SAE trained on {data.Length / d:N0} tokens × 4 epochs in {sw.Elapsed.TotalSeconds:F0} s");
        SaeLensFormat.Save(sae, Path.Combine(outDir, "sae"));
        int m = sae.DSae;
        var mean = new float[_c.Windows.Count * m];
        var max = new float[_c.Windows.Count * m];
        var top = new float[_c.Windows.Count * m];
        for (int w = 0; w < _c.Windows.Count; w++)
        {
            int n = _c.Windows[w].Tokens;
            if (n == 0) continue;
            var t = _c.Tokens(_c.Windows[w]);
            var xf = new float[n * d];
            for (int i = 0; i < xf.Length; i++) xf[i] = (float)t[i];
            var z = sae.Encode(xf, n);
            PoolCodes(z, n, m, mean.AsSpan(w * m, m), max.AsSpan(w * m, m), top.AsSpan(w * m, m));
        }
        Emit(GuardFigures.Header);
        SaeProbe("SAE mean codes, L1 ≤ 64 features", mean, m, train, l1: true);
        SaeProbe("SAE mean codes, L2 all features", mean, m, train, l1: false);
        SaeProbe("SAE max codes, L2", max, m, train, l1: false);
        SaeProbe("SAE top-3-mean codes, L2", top, m, train, l1: false);
        SaeProbe("SAE mean ‖ max codes, L2", Concat(mean, max, m, m), 2 * m, train, l1: false);
        Dense("dense mean ‖ SAE max codes, L2", Concat(_c.Mean, max, d, m), d + m, train, _yWin, windowed: true);
    }

    void SaeProbe(string name, float[] x, int width, List<int> train, bool l1)
    {
        var sw = Stopwatch.StartNew();
        var probe = l1 ? ProbeFitting.FitL1Capped(x, width, train, _yWin, 64, 1) : ProbeFitting.FitL2(x, width, train, _yWin, 1);
        var ws = new double[_c.Windows.Count];
        for (int w = 0; w < ws.Length; w++) ws[w] = probe.Logit(x.AsSpan(w * width, width));
        var f = GuardEvaluation.Figures(_rows, GuardEvaluation.RowScores(_c, _rows.Count, ws, true), GuardSplits.Validation);
        Emit(f.Row(name) + $" <!-- {probe.FeaturesUsed} features, {sw.Elapsed.TotalSeconds:F1} s -->");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void PoolCodes(float[] z, int n, int m, Span<float> mean, Span<float> max, Span<float> top3)
    {
        var col = new float[n];
        for (int j = 0; j < m; j++)
        {
            double s = 0; float mx = 0;
            for (int i = 0; i < n; i++) { float v = z[i * m + j]; col[i] = v; s += v; if (v > mx) mx = v; }
            mean[j] = (float)(s / n);
            max[j] = mx;
            if (mx == 0) { top3[j] = 0; continue; }
            Array.Sort(col);
            int k = Math.Min(3, n);
            double ts = 0;
            for (int i = 0; i < k; i++) ts += col[n - 1 - i];
            top3[j] = (float)(ts / k);
        }
    }

    /// <summary>Topic (harm-related subject: harmful + look-alikes vs ordinary benign) × intent (harmful vs look-alike) probes.</summary>
    void TwoPart(List<int> train)
    {
        Emit("");
        Emit("## Two-part decision (harmful topic × request intent, dense mean, windows)");
        Emit(GuardFigures.Header);
        int d = _c.D;
        bool LookBase(GuardRow r) => r.Kind == GuardKinds.Lookalike || (r.Kind == GuardKinds.WrappedBenign && !r.Source.StartsWith("refusal") && !r.Source.StartsWith("self_") && !r.Source.StartsWith("alpaca_eval") && r.Category != "benign");
        var topicY = _c.Windows.Select((w, i) => _yWin[i] == 1 || (LookBase(_rows[w.Row]) && w.HasRequest) ? 1 : 0).ToArray();
        var intentTrain = train.Where(w => _yWin[w] == 1 || (LookBase(_rows[_c.Windows[w].Row]) && _c.Windows[w].HasRequest)).ToList();
        var topic = ProbeFitting.FitL2(_c.Mean, d, train, topicY, 1);
        var intent = ProbeFitting.FitL2(_c.Mean, d, intentTrain, _yWin, 1);
        var ws = new double[_c.Windows.Count];
        var wi = new double[_c.Windows.Count];
        var wt = new double[_c.Windows.Count];
        for (int w = 0; w < ws.Length; w++)
        {
            var xr = _c.Mean.AsSpan(w * d, d);
            double lt = topic.Logit(xr), li = intent.Logit(xr);
            wt[w] = lt; wi[w] = li;
            ws[w] = LogSigmoid(lt) + LogSigmoid(li);
        }
        Emit(GuardEvaluation.Figures(_rows, GuardEvaluation.RowScores(_c, _rows.Count, wt, true), GuardSplits.Validation).Row("topic probe alone"));
        Emit(GuardEvaluation.Figures(_rows, GuardEvaluation.RowScores(_c, _rows.Count, wi, true), GuardSplits.Validation).Row("intent probe alone"));
        Emit(GuardEvaluation.Figures(_rows, GuardEvaluation.RowScores(_c, _rows.Count, ws, true), GuardSplits.Validation).Row("P(topic) × P(intent)"));
    }

    static double LogSigmoid(double z) => z >= 0 ? -Math.Log(1 + Math.Exp(-z)) : z - Math.Log(1 + Math.Exp(z));

    void MultiLayer(List<int> train, string outDir)
    {
        Emit("");
        Emit("## Layers (dense mean pooling, guard set, windows)");
        Emit(GuardFigures.Header);
        int d = _c.D;
        var caches = new Dictionary<int, GuardActivationCache> { [4] = _c };
        foreach (var l in new[] { 3, 5 }) caches[l] = GuardActivationCache.Load(_rows, l, outDir, keepTokens: false);
        foreach (var l in new[] { 3, 5 }) Dense($"layer {l} alone", caches[l].Mean, d, train, _yWin, windowed: true);
        Dense("layers 3 ‖ 4 ‖ 5", Concat(Concat(caches[3].Mean, _c.Mean, d, d), caches[5].Mean, 2 * d, d), 3 * d, train, _yWin, windowed: true);
        Dense("layers 4 ‖ 5", Concat(_c.Mean, caches[5].Mean, d, d), 2 * d, train, _yWin, windowed: true);
    }

    void Calibrate(List<int> train)
    {
        Emit("");
        Emit("## Calibration (Platt / isotonic fitted on 5-fold out-of-fold row scores of the training split; measured on validation rows)");
        var oof = CrossValidated(null!, train);
        var trainRows = Enumerable.Range(0, _rows.Count).Where(i => _rows[i].Split == GuardSplits.Train).ToArray();
        var valRows = Enumerable.Range(0, _rows.Count).Where(i => _rows[i].Split == GuardSplits.Validation).ToArray();
        var platt = PlattScaling.Fit(trainRows.Select(i => oof[i]).ToArray(), trainRows.Select(i => _yRow[i]).ToArray());
        var iso = IsotonicCalibration.Fit(trainRows.Select(i => oof[i]).ToArray(), trainRows.Select(i => _yRow[i]).ToArray());
        var probe = ProbeFitting.FitL2(_c.Mean, _c.D, train, _yWin, 1);
        var ws = new double[_c.Windows.Count];
        for (int w = 0; w < ws.Length; w++) ws[w] = probe.Logit(_c.Mean.AsSpan(w * _c.D, _c.D));
        var rs = GuardEvaluation.RowScores(_c, _rows.Count, ws, true);
        var y = valRows.Select(i => _yRow[i]).ToArray();
        Emit("| scores | Brier | ECE (10 bins) | val flagged at 0.5 among harmful | among benign (all kinds) |");
        Emit("|---|---|---|---|---|");
        foreach (var (name, f) in new (string, Func<double, double>)[] { ("raw σ(logit)", LogisticRegression.Sigmoid), ($"Platt (A={platt.A:F3}, B={platt.B:F3})", platt.Apply), ("isotonic", iso.Apply) })
        {
            var p = valRows.Select(i => f(rs[i])).ToArray();
            double tp = valRows.Where((_, k) => y[k] == 1 && p[k] >= 0.5).Count() / (double)y.Count(v => v == 1);
            double fp = valRows.Where((_, k) => y[k] == 0 && p[k] >= 0.5).Count() / (double)y.Count(v => v == 0);
            Emit($"| {name} | {CalibrationMetrics.Brier(p, y):F4} | {CalibrationMetrics.Ece(p, y):F4} | {tp:P1} | {fp:P1} |");
        }
        var tTrain = BinaryMetrics.ThresholdForTpr(trainRows.Where(i => _rows[i].Kind == GuardKinds.PlainHarmful).Select(i => oof[i]).ToArray(),
            trainRows.Where(i => _rows[i].Kind == GuardKinds.PlainHarmful).Select(_ => 1).ToArray(), 0.95);
        Emit("");
        Emit($"Shipped-style threshold (95 % OOF recall on training plain harmful): logit {tTrain:F3} = Platt probability {platt.Apply(tTrain):F3}; on validation:");
        Emit(GuardFigures.Header);
        Emit(GuardEvaluation.Figures(_rows, rs, GuardSplits.Validation, tTrain).Row($"guard set, windows, threshold from training OOF (plain harmful recall {GuardEvaluation.Figures(_rows, rs, GuardSplits.Validation, tTrain).PlainHarmfulRecall:P1})"));
    }
}
