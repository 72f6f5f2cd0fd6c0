using SaeGuard.Common;
using SaeGuard.Models;
using SaeGuard.Sae;

namespace SaeGuard.Eval;

/// <summary>A tokenized evaluation document; Label 1 harmful, 0 benign, −1 unlabelled.</summary>
public sealed record EvalDoc(TokenizedText Tokens, int Label);

/// <summary>Running mean of a per-position (or per-document) score.</summary>
public sealed class MeanScore
{
    double _sum;
    public long Count { get; private set; }
    public void Add(double v) { _sum += v; Count++; }
    public double Mean => Count > 0 ? _sum / Count : double.NaN;
}

/// <summary>What one splice (a variant of the hooked layer) did to the outputs.</summary>
public sealed class VariantScores
{
    public MeanScore Ce { get; } = new();
    public MeanScore Kl { get; } = new();
    public MeanScore Cos { get; } = new();
}

/// <summary>Per-SAE sums and pooled features of a spliced evaluation.</summary>
public sealed class SaeSpliceRun
{
    public required SaeModel Sae { get; init; }
    public VariantScores WithSae { get; } = new();
    public VariantScores WithSaeAndError { get; } = new();
    public required SaeRowStats Rows { get; init; }
    /// <summary>Per document: mean codes over its spliced tokens (labelled corpora only).</summary>
    public float[][]? PooledCodes { get; init; }
    /// <summary>Per document: mean reconstruction x̂ over its spliced tokens (labelled corpora only).</summary>
    public float[][]? PooledRecon { get; init; }
}

/// <summary>Everything measured by <see cref="SpliceEvaluator.Run"/>.</summary>
public sealed class SpliceRun
{
    public required IReadOnlyList<EvalDoc> Docs { get; init; }
    public VariantScores Clean { get; } = new();
    public VariantScores Zero { get; } = new();
    public VariantScores Mean { get; } = new();
    public required IReadOnlyList<SaeSpliceRun> Saes { get; init; }
    /// <summary>Per document: mean clean hooked row over its spliced tokens (labelled corpora only).</summary>
    public float[][]? PooledClean { get; init; }
    public required float[] MeanActivation { get; init; }
    public long Tokens { get; set; }
}

/// <summary>
/// Splices SAEs into a model's forward and scores the outputs against the clean forward. Per
/// pack of documents: one clean forward, then zero ablation, mean ablation and, per SAE, x̂ and
/// x̂ + (x − x̂). LMs: CE of the next token and KL(clean ‖ spliced) at each counted position;
/// encoders: cosine of the mean-pooled last hidden states per document. The SAE pass also feeds
/// the SAEBench core sums and the pooled features of the probes. The mean of the hooked rows
/// (mean ablation) comes from a first clean sweep over the corpus.
/// </summary>
public static class SpliceEvaluator
{
    public static SpliceRun Run(ISplicedModel model, IReadOnlyList<SaeModel> saes, IReadOnlyList<EvalDoc> docs, EvalOptions o)
    {
        int d = model.Width;
        foreach (var s in saes)
            if (s.DIn != d) throw new UserError($"An SAE reads vectors of {s.DIn} values but {model.ModelName}'s layer {model.Layer} is {d} wide.");
        if (docs.Count == 0) throw new UserError("The corpus has no non-empty documents to evaluate on.");
        bool labelled = docs.Any(x => x.Label >= 0);
        var packs = Pack(docs, Math.Min(o.PackTokens, model.MaxPackTokens), model.MaxPackDocs);
        long tokens = docs.Sum(x => (long)x.Tokens.Length);
        var mean = MeanRow(model, docs, packs, o, tokens);
        var run = new SpliceRun
        {
            Docs = docs, MeanActivation = mean, Tokens = tokens,
            PooledClean = labelled ? new float[docs.Count][] : null,
            Saes = saes.Select(s => new SaeSpliceRun
            {
                Sae = s, Rows = new SaeRowStats(d, s.DSae),
                PooledCodes = labelled ? new float[docs.Count][] : null,
                PooledRecon = labelled ? new float[docs.Count][] : null,
            }).ToList(),
        };
        int passes = 3 + 2 * saes.Count;
        using var bar = new ProgressBar("eval", tokens * passes, "tok");
        foreach (var pack in packs)
        {
            var packDocs = pack.Select(i => docs[i].Tokens).ToList();
            var hooked = new float[pack.Length][];
            var clean = model.Forward(packDocs, null, hooked);
            bar.Advance(packDocs.Sum(t => t.Length));
            var reference = new CleanReference(model, packDocs, clean);
            reference.ScoreClean(run.Clean);
            if (labelled) PoolRows(hooked, packDocs, pack, run.PooledClean!, d, o);

            Score(model, packDocs, bar, reference, run.Zero, (rows, _, _) => rows.Clear());
            Score(model, packDocs, bar, reference, run.Mean, (rows, dd, pp) => Fill(rows, dd, pp, packDocs, o, d, (_, dst) => mean.CopyTo(dst)));
            foreach (var sr in run.Saes)
            {
                var codec = new RowCodec(sr.Sae);
                var pool = labelled ? new Pooler(pack, packDocs, sr, d, o) : null;
                Score(model, packDocs, bar, reference, sr.WithSae, (rows, dd, pp) =>
                {
                    codec.Run(rows);
                    for (int r = 0; r < dd.Length; r++)
                    {
                        if (!Spliced(packDocs[dd[r]], pp[r], o)) continue;
                        var x = rows.Slice(r * d, d);
                        sr.Rows.Add(x, codec.XHat(r), codec.Codes(r));
                        pool?.Add(dd[r], codec.Codes(r), codec.XHat(r));
                    }
                    Fill(rows, dd, pp, packDocs, o, d, (r, dst) => codec.XHat(r).CopyTo(dst));
                });
                pool?.Finish();
                Score(model, packDocs, bar, reference, sr.WithSaeAndError, (rows, dd, pp) =>
                {
                    codec.Run(rows);
                    Fill(rows, dd, pp, packDocs, o, d, (r, dst) =>
                    {
                        var xh = codec.XHat(r);
                        for (int i = 0; i < d; i++) dst[i] = xh[i] + (dst[i] - xh[i]);
                    });
                });
            }
        }
        return run;
    }

    /// <summary>Whether the hooked row of token <paramref name="pos"/> is replaced (special tokens keep their clean row unless asked).</summary>
    public static bool Spliced(TokenizedText doc, int pos, EvalOptions o) => o.SpliceSpecialTokens || !doc.IsSpecial[pos];

    static void Fill(Span<float> rows, ReadOnlySpan<int> docs, ReadOnlySpan<int> pos, IReadOnlyList<TokenizedText> packDocs, EvalOptions o, int d, SpanAction write)
    {
        for (int r = 0; r < docs.Length; r++)
            if (Spliced(packDocs[docs[r]], pos[r], o)) write(r, rows.Slice(r * d, d));
    }

    delegate void SpanAction(int row, Span<float> dst);

    static void Score(ISplicedModel model, IReadOnlyList<TokenizedText> packDocs, ProgressBar bar, CleanReference reference, VariantScores into, RowSplice splice)
    {
        var outputs = model.Forward(packDocs, splice);
        reference.Score(outputs, into);
        bar.Advance(packDocs.Sum(t => t.Length));
    }

    static float[] MeanRow(ISplicedModel model, IReadOnlyList<EvalDoc> docs, List<int[]> packs, EvalOptions o, long tokens)
    {
        int d = model.Width;
        var sum = new double[d];
        long n = 0;
        using (var bar = new ProgressBar("eval mean", tokens, "tok"))
            foreach (var pack in packs)
            {
                var packDocs = pack.Select(i => docs[i].Tokens).ToList();
                var hooked = new float[pack.Length][];
                model.Forward(packDocs, null, hooked);
                for (int j = 0; j < pack.Length; j++)
                    for (int t = 0; t < packDocs[j].Length; t++)
                    {
                        if (!Spliced(packDocs[j], t, o)) continue;
                        var row = hooked[j].AsSpan(t * d, d);
                        for (int i = 0; i < d; i++) sum[i] += row[i];
                        n++;
                    }
                bar.Advance(packDocs.Sum(t => t.Length));
            }
        return sum.Select(v => (float)(v / Math.Max(1, n))).ToArray();
    }

    static void PoolRows(float[][] hooked, IReadOnlyList<TokenizedText> packDocs, int[] pack, float[][] into, int d, EvalOptions o)
    {
        for (int j = 0; j < pack.Length; j++)
        {
            var acc = new double[d];
            int n = 0;
            for (int t = 0; t < packDocs[j].Length; t++)
            {
                if (!Spliced(packDocs[j], t, o)) continue;
                var row = hooked[j].AsSpan(t * d, d);
                for (int i = 0; i < d; i++) acc[i] += row[i];
                n++;
            }
            into[pack[j]] = acc.Select(v => (float)(v / Math.Max(1, n))).ToArray();
        }
    }

    /// <summary>Groups documents (in order) into forwards of at most <paramref name="maxTokens"/> tokens and <paramref name="maxDocs"/> documents.</summary>
    public static List<int[]> Pack(IReadOnlyList<EvalDoc> docs, int maxTokens, int maxDocs)
    {
        var packs = new List<int[]>();
        var cur = new List<int>();
        int tokens = 0;
        for (int i = 0; i < docs.Count; i++)
        {
            int n = docs[i].Tokens.Length;
            if (cur.Count > 0 && (tokens + n > maxTokens || cur.Count == maxDocs)) { packs.Add(cur.ToArray()); cur.Clear(); tokens = 0; }
            cur.Add(i);
            tokens += n;
        }
        if (cur.Count > 0) packs.Add(cur.ToArray());
        return packs;
    }

    /// <summary>The SAE's codes and reconstruction of a chunk of rows (buffers reused).</summary>
    sealed class RowCodec(SaeModel sae)
    {
        float[] _codes = Array.Empty<float>(), _xhat = Array.Empty<float>();

        public void Run(ReadOnlySpan<float> rows)
        {
            int d = sae.DIn, m = sae.DSae, n = rows.Length / d;
            if (_codes.Length < n * m) _codes = new float[n * m];
            if (_xhat.Length < n * d) _xhat = new float[n * d];
            sae.Encode(rows, n, _codes.AsSpan(0, n * m));
            sae.Decode(_codes.AsSpan(0, n * m), n, _xhat.AsSpan(0, n * d));
        }

        public ReadOnlySpan<float> Codes(int r) => _codes.AsSpan(r * sae.DSae, sae.DSae);
        public ReadOnlySpan<float> XHat(int r) => _xhat.AsSpan(r * sae.DIn, sae.DIn);
    }

    /// <summary>Mean codes and x̂ per document of a pack over its spliced tokens.</summary>
    sealed class Pooler
    {
        readonly int[] _pack;
        readonly SaeSpliceRun _run;
        readonly double[][] _codes, _recon;
        readonly int[] _n;

        public Pooler(int[] pack, IReadOnlyList<TokenizedText> docs, SaeSpliceRun run, int d, EvalOptions o)
        {
            _pack = pack; _run = run;
            _codes = pack.Select(_ => new double[run.Sae.DSae]).ToArray();
            _recon = pack.Select(_ => new double[d]).ToArray();
            _n = new int[pack.Length];
        }

        public void Add(int doc, ReadOnlySpan<float> z, ReadOnlySpan<float> xhat)
        {
            var c = _codes[doc];
            for (int j = 0; j < z.Length; j++) if (z[j] != 0) c[j] += z[j];
            var r = _recon[doc];
            for (int i = 0; i < xhat.Length; i++) r[i] += xhat[i];
            _n[doc]++;
        }

        public void Finish()
        {
            for (int j = 0; j < _pack.Length; j++)
            {
                double inv = 1.0 / Math.Max(1, _n[j]);
                _run.PooledCodes![_pack[j]] = _codes[j].Select(v => (float)(v * inv)).ToArray();
                _run.PooledRecon![_pack[j]] = _recon[j].Select(v => (float)(v * inv)).ToArray();
            }
        }
    }

    /// <summary>
    /// The clean outputs of a pack and how a spliced output is scored against them. LMs count the
    /// prediction made at position t (of token t+1; KL also at the last position) when token t is
    /// spliced (SAELens drops positions whose input token is in ignore_tokens); encoders compare the
    /// mean over all tokens of the last hidden states (sentence-transformers' mean pooling).
    /// </summary>
    sealed class CleanReference
    {
        readonly ISplicedModel _model;
        readonly IReadOnlyList<TokenizedText> _docs;
        readonly IReadOnlyList<float[]> _clean;
        readonly double[][] _lse = Array.Empty<double[]>();
        readonly double[][] _pooled = Array.Empty<double[]>();

        public CleanReference(ISplicedModel model, IReadOnlyList<TokenizedText> docs, IReadOnlyList<float[]> clean)
        {
            _model = model; _docs = docs; _clean = clean;
            int v = model.OutputWidth;
            if (model.Output == SpliceOutput.Logits)
                _lse = docs.Select((doc, j) => Enumerable.Range(0, doc.Length).Select(t => NextTokenMath.LogSumExp(clean[j].AsSpan(t * v, v))).ToArray()).ToArray();
            else
                _pooled = docs.Select((doc, j) => MeanPool(clean[j], doc.Length, v)).ToArray();
        }

        static double[] MeanPool(float[] rows, int n, int w)
        {
            var acc = new double[w];
            for (int t = 0; t < n; t++)
                for (int i = 0; i < w; i++) acc[i] += rows[t * w + i];
            for (int i = 0; i < w; i++) acc[i] /= Math.Max(1, n);
            return acc;
        }

        bool Counted(TokenizedText doc, int t) => !doc.IsSpecial[t];

        public void ScoreClean(VariantScores into)
        {
            if (_model.Output != SpliceOutput.Logits) { foreach (var _ in _docs) into.Cos.Add(1); return; }
            int v = _model.OutputWidth;
            for (int j = 0; j < _docs.Count; j++)
                for (int t = 0; t + 1 < _docs[j].Length; t++)
                    if (Counted(_docs[j], t)) into.Ce.Add(NextTokenMath.CrossEntropy(_clean[j].AsSpan(t * v, v), _docs[j].Ids[t + 1], _lse[j][t]));
        }

        public void Score(IReadOnlyList<float[]> outputs, VariantScores into)
        {
            int v = _model.OutputWidth;
            for (int j = 0; j < _docs.Count; j++)
            {
                var doc = _docs[j];
                if (_model.Output != SpliceOutput.Logits)
                {
                    into.Cos.Add(NextTokenMath.Cosine(_pooled[j], MeanPool(outputs[j], doc.Length, v)));
                    continue;
                }
                for (int t = 0; t < doc.Length; t++)
                {
                    if (!Counted(doc, t)) continue;
                    var q = outputs[j].AsSpan(t * v, v);
                    double lseQ = NextTokenMath.LogSumExp(q);
                    into.Kl.Add(NextTokenMath.Kl(_clean[j].AsSpan(t * v, v), _lse[j][t], q, lseQ));
                    if (t + 1 < doc.Length) into.Ce.Add(NextTokenMath.CrossEntropy(q, doc.Ids[t + 1], lseQ));
                }
            }
        }
    }
}
