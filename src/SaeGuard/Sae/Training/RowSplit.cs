namespace SaeGuard.Sae.Training;

/// <summary>
/// Which rows train and which are held out for the final metrics: special tokens are skipped unless
/// included; a fixed hash of the document id (of the row id when the data has under 20 documents)
/// holds out a share of the rows, the same for every seed.
/// </summary>
public sealed class RowSplit
{
    public bool IncludeSpecial { get; }
    public bool ByDocument { get; }
    public double HeldOutFraction { get; }
    public long TrainRows { get; private set; }
    public long HeldOutRows { get; private set; }

    RowSplit(bool includeSpecial, bool byDoc, double frac)
    {
        IncludeSpecial = includeSpecial; ByDocument = byDoc; HeldOutFraction = frac;
    }

    /// <summary>Counts the rows of each side from the data's token index.</summary>
    public static RowSplit Create(TrainData data, SaeTrainOptions o)
    {
        bool byDoc = data.Docs >= 20;
        long usable = 0;
        foreach (var (_, special) in data.Index()) foreach (var s in special) if (o.IncludeSpecialTokens || !s) usable++;
        double frac = Math.Clamp(o.HeldOutFraction, 0, 0.5);
        if (usable > 0) frac = Math.Min(frac, (double)o.MaxHeldOutRows / usable);
        var split = new RowSplit(o.IncludeSpecialTokens, byDoc, frac);
        long row = 0, train = 0, held = 0;
        foreach (var (docs, special) in data.Index())
            for (int i = 0; i < docs.Length; i++, row++)
            {
                if (!o.IncludeSpecialTokens && special[i]) continue;
                if (split.IsHeldOut(row, docs[i])) held++; else train++;
            }
        split.TrainRows = train; split.HeldOutRows = held;
        return split;
    }

    public bool IsHeldOut(long rowId, int docId) => HeldOutFraction > 0 && Unit(ByDocument ? docId : rowId) < HeldOutFraction;

    public bool Usable(bool special) => IncludeSpecial || !special;

    static double Unit(long key)
    {
        ulong z = (ulong)key + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}

/// <summary>
/// Cuts an endless sequence of training batches from the data's epochs; its position (epoch, rows
/// of that epoch's stream consumed) is what a checkpoint stores and <see cref="Seek"/> restores.
/// </summary>
public sealed class Batcher
{
    readonly TrainData _data;
    readonly RowSplit _split;
    readonly int _seed;
    const int Chunks = 16;
    readonly Backend.Parallelism _par;
    readonly List<(Activations.RowBlock Block, int Index)> _picks = new();
    IEnumerator<EpochChunk>? _it;
    EpochChunk? _cur;
    int _pos;

    public int Epoch { get; private set; }
    public long Offset { get; private set; }

    public Batcher(TrainData data, RowSplit split, int seed, int threads = 0)
    {
        _data = data; _split = split; _seed = seed;
        _par = new Backend.Parallelism(threads);
        Seek(0, 0);
    }

    public void Seek(int epoch, long offset)
    {
        _it?.Dispose();
        Epoch = epoch; Offset = offset;
        _it = _data.Epoch(_seed, epoch, offset).GetEnumerator();
        _cur = null; _pos = 0;
        long skip = offset;
        while (skip > 0 && _it.MoveNext())
        {
            var c = _it.Current;
            if (c.Order.Length <= skip) { skip -= c.Order.Length; continue; }
            _cur = c; _pos = (int)skip; skip = 0;
        }
    }

    /// <summary>Fills dest with the next <paramref name="rows"/> training rows times <paramref name="scale"/> (wrapping into the next epoch).</summary>
    public void Fill(float[] dest, int rows, float scale = 1f)
    {
        int d = _data.D;
        bool sawTrainRow = false;
        int emptyEpochs = 0;
        _picks.Clear();
        while (_picks.Count < rows)
        {
            if (_cur == null || _pos >= _cur.Value.Order.Length)
            {
                if (!_it!.MoveNext())
                {
                    if (!sawTrainRow && ++emptyEpochs > 1) throw new Common.UserError("The data has no training rows.");
                    Seek(Epoch + 1, 0);
                    continue;
                }
                _cur = _it.Current; _pos = 0;
                continue;
            }
            var block = _cur.Value.Block;
            int i = _cur.Value.Order[_pos++];
            Offset++;
            if (!_split.Usable(block.IsSpecial[i]) || _split.IsHeldOut(block.RowIds[i], block.DocIds[i])) continue;
            sawTrainRow = true;
            _picks.Add((block, i));
        }
        // copy, scale and check in parallel; the first bad row (in batch order) is reported
        var bad = new int[Chunks];
        Array.Fill(bad, int.MaxValue);
        _par.For(rows, Chunks, (c, s0, s1) =>
        {
            for (int r = s0; r < s1; r++)
            {
                var (block, i) = _picks[r];
                var o = dest.AsSpan(r * d, d);
                System.Numerics.Tensors.TensorPrimitives.Multiply(block.Data.AsSpan(i * d, d), scale, o);
                if (!TrainData.AllFinite(o)) { bad[c] = r; return; }
            }
        }, d);
        int first = bad.Min();
        if (first != int.MaxValue) _data.CheckFinite(dest.AsSpan(first * d, d), _picks[first].Block.RowIds[_picks[first].Index]);
    }
}
