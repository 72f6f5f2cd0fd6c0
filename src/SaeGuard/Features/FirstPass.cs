using SaeGuard.Activations;
using SaeGuard.Analysis;

namespace SaeGuard.Features;

/// <summary>
/// Pass 1 over the codes: global per-feature sums (<see cref="FeatureAccumulator"/>), the
/// documents where each fires hardest (<see cref="TopDocuments"/>), per label and per category the tokens and firing
/// counts and positive sums, a <see cref="LogHistogram"/> per feature, and a seeded reservoir of
/// whole code rows from which non-firing contexts are drawn.
/// </summary>
sealed class FirstPass
{
    public readonly int M;
    public readonly FeatureAccumulator Acc;
    public readonly TopDocuments Top;
    public readonly long[] LabelTokens, CategoryTokens;
    public readonly long[] LabelFires, CategoryFires; // [group * M + j]
    public readonly double[] LabelSum, CategorySum;
    public readonly long[] Hist; // [j * LogHistogram.Bins + b]
    public readonly List<(int Doc, int Position, float[] Codes)> Candidates = new();
    readonly int _candidates;
    readonly TokenGroups _groups;
    readonly Random _rng;
    long _seen;
    int[] _nz = Array.Empty<int>();

    public FirstPass(int m, TokenGroups groups, FeatureDashboardOptions o)
    {
        M = m; _groups = groups;
        Acc = new FeatureAccumulator(m);
        Top = new TopDocuments(m, o.TopExamples);
        int nl = groups.Labels.Count, nc = groups.Categories.Count;
        LabelTokens = new long[nl]; CategoryTokens = new long[nc];
        LabelFires = new long[nl * m]; CategoryFires = new long[nc * m];
        LabelSum = new double[nl * m]; CategorySum = new double[nc * m];
        Hist = new long[(long)m * LogHistogram.Bins];
        _candidates = Math.Max(32, o.NonFiring * 8);
        _rng = new Random(o.Seed ^ 0x4fea);
    }

    public void Add(RowBlock b)
    {
        Acc.AddRows(b.Data, 0, b.Rows, new int[b.Rows]);
        for (int r = 0; r < b.Rows; r++)
        {
            var row = b.Data.AsSpan(r * M, M);
            int doc = b.DocIds[r], pos = b.Positions[r], tok = b.TokenIds[r];
            var (li, ci) = _groups.Of(doc);
            if (li >= 0) LabelTokens[li]++;
            if (ci >= 0) CategoryTokens[ci]++;
            if (_nz.Length < M) _nz = new int[M];
            int nnz = RowNonZeros.Collect(row, _nz);
            for (int q = 0; q < nnz; q++)
            {
                int j = _nz[q];
                float v = row[j];
                Top.Add(j, v, doc, pos, tok);
                Hist[(long)j * LogHistogram.Bins + LogHistogram.Bin(v)]++;
                if (li >= 0) { LabelFires[li * M + j]++; LabelSum[li * M + j] += v; }
                if (ci >= 0) { CategoryFires[ci * M + j]++; CategorySum[ci * M + j] += v; }
            }
            Offer(doc, pos, row);
        }
    }

    void Offer(int doc, int position, ReadOnlySpan<float> row)
    {
        long t = _seen++;
        long slot = t < _candidates ? t : _rng.NextInt64(t + 1);
        if (slot >= _candidates) return;
        var item = (doc, position, row.ToArray());
        if (slot < Candidates.Count) Candidates[(int)slot] = item; else Candidates.Add(item);
    }
}
