using SaeGuard.Activations;
using SaeGuard.Probes;

namespace SaeGuard.Features;

/// <summary>
/// Pass 2: SAE-Vis-style interval bands. With the maximum known, (0, max] is cut into B equal
/// intervals, band 0 the highest; each band counts every token in it and keeps a seeded reservoir
/// of up to PerBand tokens that are not themselves top examples.
/// </summary>
sealed class BandSampler
{
    readonly int _m, _bands, _per;
    readonly float[] _max;
    readonly TopDocuments _top;
    int[] _nz = Array.Empty<int>();
    public readonly long[] Count;          // [j * bands + band]
    public readonly TokenHit[] Samples;    // [(j * bands + band) * per + s]
    public readonly int[] Kept;            // [j * bands + band]
    readonly long[] _eligible;
    readonly Random _rng;

    public BandSampler(int m, FeatureDashboardOptions o, float[] max, TopDocuments top)
    {
        _m = m; _bands = o.Bands; _per = o.PerBand; _max = max; _top = top;
        Count = new long[m * _bands];
        Kept = new int[m * _bands];
        _eligible = new long[m * _bands];
        Samples = new TokenHit[(long)m * _bands * Math.Max(1, _per)];
        _rng = new Random(o.Seed ^ 0xba9d);
    }

    /// <summary>Band of a positive value for feature j: 0 holds (max·(B−1)/B, max].</summary>
    public static int BandOf(float v, float max, int bands)
    {
        int t = (int)Math.Ceiling(v / (double)max * bands) - 1;
        return bands - 1 - Math.Clamp(t, 0, bands - 1);
    }

    public void Add(RowBlock b)
    {
        if (_bands == 0) return;
        for (int r = 0; r < b.Rows; r++)
        {
            var row = b.Data.AsSpan(r * _m, _m);
            if (_nz.Length < _m) _nz = new int[_m];
            int nnz = RowNonZeros.Collect(row, _nz);
            for (int q = 0; q < nnz; q++)
            {
                int j = _nz[q];
                float v = row[j];
                int cell = j * _bands + BandOf(v, _max[j], _bands);
                Count[cell]++;
                if (_per == 0 || (v >= _top.Floor(j) && _top.Contains(j, b.DocIds[r], b.Positions[r]))) continue;
                long seen = _eligible[cell]++;
                int kept = Kept[cell];
                long slot = kept < _per ? kept : _rng.NextInt64(seen + 1);
                if (slot >= _per) continue;
                Samples[(long)cell * _per + slot] = new TokenHit(v, b.DocIds[r], b.Positions[r], b.TokenIds[r]);
                if (slot == kept) Kept[cell] = kept + 1;
            }
        }
    }

    public IEnumerable<TokenHit> Of(int j, int band) =>
        Samples.AsSpan((int)((long)(j * _bands + band) * _per), Kept[j * _bands + band]).ToArray().OrderByDescending(h => h.Value);
}
