using System.Numerics.Tensors;
using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Training;

/// <summary>
/// Loss and gradients of one batch, for every architecture. Loss (scaled space, per token, averaged
/// over the batch): ‖x̂ − x‖² + AuxK + the architecture's sparsity penalty, with
/// pre = (x − b_dec)·W_enc + b_enc, x̂ = z·W_dec + b_dec. The encoder product is the one dense GEMM;
/// decode, ∂L/∂z and the W_enc/W_dec gradients visit only the active (and AuxK) entries.
/// </summary>
public sealed class SaeStep
{
    const int Chunks = 64;
    readonly TrainingSae _arch;
    readonly SaeTrainOptions _o;
    readonly int _d, _m, _kAux;
    readonly Parallelism _par;
    readonly StepStats[] _chunkStats;
    readonly float[][] _chunkVecF;

    public TrainingSae Arch => _arch;
    /// <summary>Seconds spent in the encoder GEMM so far (for the benchmark's GEMM share).</summary>
    public double GemmSeconds => Timings.GetValueOrDefault("gemm");
    /// <summary>Seconds per phase of the step so far (gemm, select, decode, …).</summary>
    public Dictionary<string, double> Timings { get; } = new();
    long _mark;

    void Lap(string phase)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        Timings[phase] = Timings.GetValueOrDefault(phase) + System.Diagnostics.Stopwatch.GetElapsedTime(_mark, now).TotalSeconds;
        _mark = now;
    }

    public SaeStep(TrainingSae arch, SaeTrainOptions o, int d, int m)
    {
        _arch = arch; _o = o; _d = d; _m = m;
        _kAux = o.AuxK > 0 ? o.AuxK : Math.Max(1, d / 2);
        _par = new Parallelism(o.Threads);
        _chunkStats = Enumerable.Range(0, Chunks).Select(_ => new StepStats(d)).ToArray();
        _chunkVecF = Enumerable.Range(0, Chunks).Select(_ => new float[d]).ToArray();
    }

    /// <summary>
    /// Fills <paramref name="grads"/> with ∂loss/∂params for the ctx.Rows scaled rows in ctx.X and
    /// updates the firing tracker. Returns the step's sums for the metrics.
    /// </summary>
    public StepStats Compute(StepContext ctx, SaeParams p, SaeParams grads, FiringTracker tracker, double sparsityCoef)
    {
        int rows = ctx.Rows, d = _d, m = _m;
        var be = ctx.Backend;
        float twoOverB = 2f / rows;

        // encoder: pre = x·W_encᵀ + (b_enc − W_enc·b_dec)
        _mark = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int j = 0; j < m; j++) ctx.EncBias[j] = p.BEnc[j] - Simd.Dot(p.WEncT.AsSpan(j * d, d), p.BDec);
        Lap("bias");
        be.Gemm(ctx.X, rows, d, p.WEncT, m, true, ctx.EncBias, ctx.Pre);
        Lap("gemm");
        _arch.Select(ctx, p);
        Lap("select");
        tracker.Update(ctx.Codes, rows);
        Lap("tracker");

        // decoder and ∂L/∂x̂ = 2(x̂ − x)/B
        be.SparseDecode(ctx.Codes, p.WDec, d, p.BDec, ctx.XHat);
        Lap("decode");
        foreach (var s in _chunkStats) s.Clear();
        _par.For(rows, Chunks, (c, s0, s1) =>
        {
            var st = _chunkStats[c];
            var sumX = _chunkVecF[c];
            Array.Clear(sumX);
            for (int t = s0; t < s1; t++)
            {
                var x = ctx.X.AsSpan(t * d, d); var xh = ctx.XHat.AsSpan(t * d, d); var g = ctx.G.AsSpan(t * d, d);
                TensorPrimitives.Subtract(xh, x, g);
                double sse = Simd.Dot(g, g), xx = Simd.Dot(x, x), hh = Simd.Dot(xh, xh);
                TensorPrimitives.Multiply(g, twoOverB, g);
                TensorPrimitives.Add(sumX, x, sumX);
                st.Sse += sse; st.SumSq += xx;
                st.L2Ratio += xx > 0 ? Math.Sqrt(hh / xx) : 0;
                var vals = ctx.Codes.RowVal(t);
                foreach (var v in vals) if (v > 0) st.Active++;
            }
            for (int i = 0; i < d; i++) st.SumX[i] += sumX[i];
        }, d);
        var stats = new StepStats(d) { Tokens = rows };
        foreach (var s in _chunkStats) stats.Add(s);
        stats.Tokens = rows;
        Lap("residual");
        ctx.EnsureEntryBuffers();
        be.SparseDots(ctx.Codes, ctx.G, 0, p.WDec, d, ctx.Dz);
        Lap("dots");

        // AuxK: the dead latents' top-k_aux reconstruct the residual x − x̂
        ctx.Aux.Reset(rows);
        ctx.Aux.SetCounts(new int[rows]);
        int nDead = tracker.NDead;
        if (_arch.UsesAuxK && nDead > 0 && _o.AuxCoefficient > 0)
        {
            int kAux = Math.Min(_kAux, nDead);
            float c = (float)(_o.AuxCoefficient * Math.Min((double)nDead / _kAux, 1.0));
            be.TopKRows(ctx.Pre, rows, m, kAux, ctx.Aux, tracker.Dead, nDead);
            be.SparseDecode(ctx.Aux, p.WDec, d, ctx.Zeros, ctx.AuxHat);
            var auxLoss = new double[Chunks];
            _par.For(rows, Chunks, (ch, s0, s1) =>
            {
                double acc = 0;
                for (int t = s0; t < s1; t++)
                {
                    var x = ctx.X.AsSpan(t * d, d); var xh = ctx.XHat.AsSpan(t * d, d);
                    var ah = ctx.AuxHat.AsSpan(t * d, d); var ga = ctx.G.AsSpan((rows + t) * d, d);
                    for (int i = 0; i < d; i++)
                    {
                        float r = ah[i] + (xh[i] - x[i]);   // ê − (x − x̂)
                        ga[i] = c * twoOverB * r;
                        acc += r * r;
                    }
                }
                auxLoss[ch] = acc;
            }, d);
            stats.AuxLoss = c * auxLoss.Sum() / rows;
            ctx.EnsureEntryBuffers();
            be.SparseDots(ctx.Aux, ctx.G, rows, p.WDec, d, ctx.AuxDz);
        }

        Lap("auxk");
        stats.SparsityLoss = _arch.EntryDeltas(ctx, p, sparsityCoef);
        stats.Loss = stats.Sse / rows + stats.AuxLoss + stats.SparsityLoss;

        // per latent: ∂W_dec,j = Σ z·g_t (+ Σ z_aux·g_aux,t), ∂W_enc,j = Σ δ·(x_t − b_dec), ∂b_enc,j = Σ δ
        BuildColumns(ctx);
        Lap("columns");
        be.ColumnGradients(ctx.Columns, ctx.G, ctx.X, d, p.BDec, grads.WDec, grads.WEncT, grads.BEnc);
        Lap("grads");

        // ∂b_dec = Σ_t g_t − Σ_j ∂b_enc,j · W_enc,j
        Array.Clear(grads.BDec);
        _par.For(rows, Chunks, (ch, s0, s1) =>
        {
            var acc = _chunkVecF[ch];
            Array.Clear(acc);
            for (int t = s0; t < s1; t++) TensorPrimitives.Add(acc, ctx.G.AsSpan(t * d, d), acc);
        }, d);
        AddChunks(grads.BDec, Math.Min(Chunks, rows), 1);
        _par.For(m, Chunks, (ch, s0, s1) =>
        {
            var acc = _chunkVecF[ch];
            Array.Clear(acc);
            for (int j = s0; j < s1; j++)
                if (grads.BEnc[j] != 0) Simd.Axpy(grads.BEnc[j], p.WEncT.AsSpan(j * d, d), acc);
        }, d);
        AddChunks(grads.BDec, Math.Min(Chunks, m), -1);

        if (grads.Theta != null) Array.Clear(grads.Theta);
        _arch.ExtraGradients(ctx, p, grads, sparsityCoef);
        Lap("bdec+extra");
        return stats;
    }

    void AddChunks(float[] dst, int chunks, int sign)
    {
        for (int i = 0; i < dst.Length; i++)
        {
            double s = 0;
            for (int c = 0; c < chunks; c++) s += _chunkVecF[c][i];
            dst[i] += (float)(sign * s);
        }
    }

    void BuildColumns(StepContext ctx)
    {
        var cols = ctx.Columns;
        var codes = ctx.Codes; var aux = ctx.Aux;
        int rows = ctx.Rows;
        cols.Begin(_m);
        int n = codes.Nnz, na = aux.Nnz;
        for (int e = 0; e < n; e++) if (codes.Val[e] != 0 || ctx.Delta[e] != 0) cols.Count(codes.Idx[e]);
        for (int e = 0; e < na; e++) cols.Count(aux.Idx[e]);
        cols.Layout();
        for (int t = 0; t < rows; t++)
            for (int e = codes.RowPtr[t]; e < codes.RowPtr[t + 1]; e++)
                if (codes.Val[e] != 0 || ctx.Delta[e] != 0) cols.Add(codes.Idx[e], t, codes.Val[e], t, ctx.Delta[e]);
        for (int t = 0; t < rows; t++)
            for (int e = aux.RowPtr[t]; e < aux.RowPtr[t + 1]; e++)
                cols.Add(aux.Idx[e], rows + t, aux.Val[e], t, ctx.AuxDz[e]);
    }
}
