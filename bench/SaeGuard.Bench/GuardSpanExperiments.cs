using SaeGuard.Data.Guard;
using SaeGuard.Data.Mixing;
using SaeGuard.Models;
using SaeGuard.Probes;

namespace SaeGuard.Bench;

/// <summary>
/// Experiments against wrapped-benign false flags (issue 20), all on 16-token spans of the layer-4
/// cache, measured on the validation split: where the deciding span of a falsely flagged wrapped
/// benign row lies (request or template), the weight of the window-mean term, heavier hard
/// negatives, and template-token down-weighting in span pooling (each token weighted by how often
/// its id occurs in training requests rather than in training templates, learned on the training
/// split only). Stage <c>wrap</c> of guard-quality.
/// </summary>
sealed class GuardSpanExperiments
{
    const int L = GuardShip.SpanLength;
    readonly IReadOnlyList<GuardRow> _rows;
    readonly GuardActivationCache _c;
    readonly Action<string> _emit;
    readonly (int Start, int Length)[] _req;
    readonly int[][] _ids;
    readonly int[] _yWin;
    readonly bool[] _train;

    public GuardSpanExperiments(IReadOnlyList<GuardRow> rows, GuardActivationCache c, Action<string> emit)
    {
        _rows = rows; _c = c; _emit = emit;
        var tok = BuiltInModels.MiniLmTokenizer();
        _req = rows.Select(r => GuardTrainingWindows.RequestSpan(tok, r)).ToArray();
        _ids = WindowTokenIds(tok);
        _yWin = c.Windows.Select(w => rows[w.Row].IsHarmful && w.HasRequest ? 1 : 0).ToArray();
        _train = rows.Select(r => r.Split == GuardSplits.Train).ToArray();
    }

    /// <summary>Each cached window's non-special token ids (re-tokenised; the cache keeps only activations).</summary>
    int[][] WindowTokenIds(WordPieceTextTokenizer tok)
    {
        var ids = new int[_c.Windows.Count][];
        int w = 0;
        while (w < _c.Windows.Count)
        {
            int row = _c.Windows[w].Row;
            var windows = TokenWindows.Split(tok.Encode(_rows[row].Text, 1 << 20), 256);
            for (int k = 0; w < _c.Windows.Count && _c.Windows[w].Row == row; k++, w++)
            {
                var t = windows[k].Tokens;
                ids[w] = Enumerable.Range(0, t.Length).Where(i => !t.IsSpecial[i]).Select(i => t.Ids[i]).ToArray();
                if (ids[w].Length != _c.Windows[w].Tokens) throw new InvalidOperationException($"row {row}: window {k} re-tokenises to {ids[w].Length} tokens, cache has {_c.Windows[w].Tokens}");
            }
        }
        return ids;
    }

    /// <summary>
    /// Per token id, (requests + 1) / (requests + templates + 2) over the training split: requests count
    /// each distinct base prompt once, templates each distinct template once.
    /// </summary>
    public double[] TemplateTokenWeights(WordPieceTextTokenizer tok, int vocab)
    {
        var req = new double[vocab];
        var tmpl = new double[vocab];
        var seenBase = new HashSet<string>();
        var seenTemplate = new HashSet<string>();
        foreach (var r in _rows.Where(r => r.Split == GuardSplits.Train))
        {
            if (seenBase.Add(Deduplicator.Normalize(r.BaseText)))
                foreach (var id in Content(tok, r.BaseText)) req[id]++;
            if (r.Template != "" && seenTemplate.Add(r.Template))
            {
                int at = r.Text.IndexOf(r.BaseText, StringComparison.Ordinal);
                var templateText = at < 0 ? r.Text : r.Text[..at] + " " + r.Text[(at + r.BaseText.Length)..];
                foreach (var id in Content(tok, templateText)) tmpl[id]++;
            }
        }
        double nr = req.Sum(), nt = tmpl.Sum();
        // Rates per token, so the larger pool does not win by size alone.
        return Enumerable.Range(0, vocab).Select(i => (req[i] / nr * 1e4 + 1) / (req[i] / nr * 1e4 + tmpl[i] / nt * 1e4 + 2)).ToArray();
    }

    static IEnumerable<int> Content(WordPieceTextTokenizer tok, string text)
    {
        var t = tok.Encode(text, 1 << 20);
        for (int i = 0; i < t.Length; i++) if (!t.IsSpecial[i]) yield return t.Ids[i];
    }

    public sealed record Spans(float[] X, float[] WindowMean, int[] Y, int[] Window, int[] Start);

    /// <summary>16-token spans with per-token weights (null = plain mean), and the windows' weighted means.</summary>
    public Spans Build(double[]? tokenWeight, double power = 1)
    {
        int d = _c.D;
        var x = new List<float>(); var win = new List<int>(); var start = new List<int>(); var y = new List<int>();
        var wm = new float[_c.Windows.Count * d];
        var acc = new double[d];
        for (int w = 0; w < _c.Windows.Count; w++)
        {
            var cw = _c.Windows[w];
            int n = cw.Tokens;
            if (n == 0) continue;
            var t = _c.Tokens(cw);
            var wt = new double[n];
            for (int k = 0; k < n; k++) wt[k] = tokenWeight == null ? 1 : Math.Pow(tokenWeight[_ids[w][k]], power);
            Pool(t, wt, 0, n, d, acc, wm.AsSpan(w * d, d));
            var (rs, rl) = _req[cw.Row];
            var buf = new float[d];
            foreach (var s0 in SpanGuardModel.SpanStartsFor(n, L))
            {
                int len = Math.Min(L, n);
                Pool(t, wt, s0, len, d, acc, buf);
                x.AddRange(buf);
                int a = cw.Start + s0, b = a + len;
                int overlap = Math.Max(0, Math.Min(b, rs + rl) - Math.Max(a, rs));
                y.Add(_rows[cw.Row].IsHarmful && overlap * 2 >= Math.Min(rl, len) ? 1 : 0);
                win.Add(w); start.Add(s0);
            }
        }
        return new Spans(x.ToArray(), wm, y.ToArray(), win.ToArray(), start.ToArray());
    }

    static void Pool(ReadOnlySpan<Half> t, double[] wt, int s0, int len, int d, double[] acc, Span<float> dst)
    {
        Array.Clear(acc);
        double sw = 0;
        for (int k = s0; k < s0 + len; k++)
        {
            sw += wt[k];
            for (int j = 0; j < d; j++) acc[j] += wt[k] * (double)t[k * d + j];
        }
        for (int j = 0; j < d; j++) dst[j] = (float)(acc[j] / Math.Max(1e-9, sw));
    }

    /// <summary>Training spans, hard negatives (look-alike spans, benign wrapped-request spans) repeated <paramref name="hard"/> times,
    /// harmful wrapped-request spans <paramref name="wrappedPositive"/> times.</summary>
    public List<int> Training(Spans s, int hard, int wrappedPositive = 1)
    {
        var list = new List<int>();
        for (int i = 0; i < s.Y.Length; i++)
        {
            var cw = _c.Windows[s.Window[i]];
            if (!_train[cw.Row]) continue;
            var r = _rows[cw.Row];
            bool isHard = s.Y[i] == 0 && (r.Kind == GuardKinds.Lookalike || (r.Kind == GuardKinds.WrappedBenign && cw.HasRequest));
            bool isWrappedPositive = s.Y[i] == 1 && r.Kind == GuardKinds.WrappedHarmful;
            for (int k = 0; k < (isHard ? hard : isWrappedPositive ? wrappedPositive : 1); k++) list.Add(i);
        }
        return list;
    }

    /// <summary>Span logits (span probe) and window logits (window-mean probe) under one configuration.</summary>
    public (double[] Span, double[] Window) Fit(Spans s, int hard, double c, int wrappedPositive = 1)
    {
        int d = _c.D;
        var sp = ProbeFitting.FitL2(s.X, d, Training(s, hard, wrappedPositive), s.Y, c);
        var trainWindows = Enumerable.Range(0, _c.Windows.Count).Where(w => _train[_c.Windows[w].Row]).ToList();
        var wp = ProbeFitting.FitL2(s.WindowMean, d, trainWindows, _yWin, 1);
        var span = new double[s.Y.Length];
        for (int i = 0; i < span.Length; i++) span[i] = sp.Logit(s.X.AsSpan(i * d, d));
        var win = new double[_c.Windows.Count];
        for (int w = 0; w < win.Length; w++) win[w] = wp.Logit(s.WindowMean.AsSpan(w * d, d));
        return (span, win);
    }

    /// <summary>Row logits = max over spans of (span logit + λ·window logit); also which span decided.</summary>
    public (double[] Row, int[] BestSpan) Rows(Spans s, double[] span, double[] win, double lambda)
    {
        var row = Enumerable.Repeat(double.NegativeInfinity, _rows.Count).ToArray();
        var best = Enumerable.Repeat(-1, _rows.Count).ToArray();
        for (int i = 0; i < span.Length; i++)
        {
            int r = _c.Windows[s.Window[i]].Row;
            double z = span[i] + lambda * win[s.Window[i]];
            if (z > row[r]) { row[r] = z; best[r] = i; }
        }
        return (row, best);
    }

    public void Report(string name, Spans s, double[] row, int[] best)
    {
        var f = GuardEvaluation.Figures(_rows, row, GuardSplits.Validation);
        // Of the validation wrapped-benign rows flagged at t95: how many were decided by a span touching the request.
        int flagged = 0, inRequest = 0;
        for (int r = 0; r < _rows.Count; r++)
        {
            if (_rows[r].Split != GuardSplits.Validation || _rows[r].Kind != GuardKinds.WrappedBenign || row[r] < f.Threshold) continue;
            flagged++;
            int i = best[r];
            var cw = _c.Windows[s.Window[i]];
            int a = cw.Start + s.Start[i], b = a + Math.Min(L, cw.Tokens);
            var (rs, rl) = _req[r];
            if (Math.Min(b, rs + rl) > Math.Max(a, rs)) inRequest++;
        }
        _emit(f.Row(name) + $" <!-- flagged wrapped benign decided by a span touching the request: {inRequest}/{flagged} -->");
    }

    public static (int Hard, double C)[] Configs = [(3, 0.1), (6, 0.1), (3, 0.03)];
    public static double[] Lambdas = [1.0, 0.5, 0.0];
    public static double[] Powers = [1.0, 2.0];
    public static int[] PositiveWeights = [1], HardWeights = [3];
    public static double[] Cs = [0.1];

    /// <summary>The stage: every configuration, one table.</summary>
    public static void Run(IReadOnlyList<GuardRow> rows, GuardActivationCache c, Action<string> emit)
    {
        var x = new GuardSpanExperiments(rows, c, emit);
        emit("");
        emit("## Against wrapped-benign flags (16-token spans, validation split)");
        emit(GuardFigures.Header);
        var plain = x.Build(null);
        foreach (var (hard, cc) in Configs)
        {
            var (span, win) = x.Fit(plain, hard, cc);
            foreach (var lambda in Lambdas)
            {
                var (row, best) = x.Rows(plain, span, win, lambda);
                x.Report($"spans, hard ×{hard}, C = {cc}, window term ×{lambda}", plain, row, best);
            }
        }
        var tok = BuiltInModels.MiniLmTokenizer();
        var weights = x.TemplateTokenWeights(tok, tok.VocabSize);
        foreach (var power in Powers)
        {
            var s = x.Build(weights, power);
            foreach (var hard in HardWeights)
            foreach (var pos in PositiveWeights)
            foreach (var cc in Cs)
            {
                var (span, win) = x.Fit(s, hard, cc, pos);
                foreach (var lambda in Lambdas)
                {
                    var (row, best) = x.Rows(s, span, win, lambda);
                    x.Report($"template-token weights^{power}, hard ×{hard}{(pos > 1 ? $", wrapped harmful request spans ×{pos}" : "")}, C = {cc}, window term ×{lambda}", s, row, best);
                }
            }
        }
    }
}
