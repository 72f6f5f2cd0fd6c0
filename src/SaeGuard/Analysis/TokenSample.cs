using System.Runtime.CompilerServices;
using SaeGuard.Activations;

namespace SaeGuard.Analysis;

/// <summary>One sampled token: where it is, its L0, and (for the first slots) its code row, dense or sparse.</summary>
public sealed class SampleRow
{
    public long RowId { get; init; }
    public int DocId { get; init; }
    public int L0 { get; init; }
    public float[]? Dense { get; init; }
    public int[]? Index { get; init; }
    public float[]? Values { get; init; }
    public bool HasData => Dense != null || Index != null;

    public static SampleRow From(ReadOnlySpan<float> row, long rowId, int docId, int l0)
    {
        int nnz = CountNonZero(row);
        // sparse costs 8 bytes per non-zero, dense 4 per feature
        if (nnz * 2 >= row.Length) return new SampleRow { RowId = rowId, DocId = docId, L0 = l0, Dense = row.ToArray() };
        var idx = new int[nnz]; var val = new float[nnz];
        int k = 0;
        for (int j = 0; j < row.Length; j++) if (row[j] != 0) { idx[k] = j; val[k] = row[j]; k++; }
        return new SampleRow { RowId = rowId, DocId = docId, L0 = l0, Index = idx, Values = val };
    }

    public long Bytes => Dense != null ? Dense.Length * 4L : (Index?.Length ?? 0) * 8L;

    /// <summary>
    /// Kept out of line on purpose. With the count loop inlined, .NET 10.0's JIT made <see cref="From"/>
    /// fully interruptible yet skipped the prolog zeroing of the stack slot of <c>idx</c> (first
    /// assigned after the call-free loop), so a GC during the loop read stale stack data as an object
    /// reference and crashed the process (seen in three test-host crash dumps; the dotnet/runtime#133754
    /// class of GC hole). A call before the first assignment makes the JIT keep the zeroing.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static int CountNonZero(ReadOnlySpan<float> row)
    {
        int nnz = 0;
        foreach (var v in row) if (v != 0) nnz++;
        return nnz;
    }
}

/// <summary>The uniform token sample: rows in stream order; the first <see cref="RowsWithData"/> carry code rows for the PCA.</summary>
public sealed class TokenSample
{
    public required IReadOnlyList<SampleRow> Rows { get; init; }
    public int RowsWithData => Rows.Count(r => r.HasData);
    /// <summary>Sample size asked for (tokens), and the memory cap that limited the rows kept for the PCA.</summary>
    public required int Requested { get; init; }
    public required long PcaMemoryBytes { get; init; }
}

/// <summary>
/// Reservoir sampling (Vitter's algorithm R, seeded) of the token stream: every token ends in the
/// sample with the same probability n/N, in one pass, without knowing N. Code rows are kept for
/// the first slots only, as many as fit the memory cap (estimated from the first block's density);
/// a uniform sample's first m slots are themselves a uniform sample.
/// </summary>
sealed class TokenSampler
{
    readonly int _capacity;
    readonly long _memoryBytes;
    readonly Random _rng;
    readonly SampleRow?[] _slots;
    int _dataSlots = -1;
    long _seen;

    public TokenSampler(int capacity, int seed, long memoryBytes)
    {
        _capacity = Math.Max(0, capacity);
        _memoryBytes = memoryBytes;
        _rng = new Random(seed);
        _slots = new SampleRow?[_capacity];
    }

    public void Offer(RowBlock block, ReadOnlySpan<int> l0)
    {
        if (_capacity == 0) return;
        if (_dataSlots < 0) _dataSlots = EstimateDataSlots(block);
        for (int i = 0; i < block.Rows; i++)
        {
            long t = _seen++;
            long slot = t < _capacity ? t : _rng.NextInt64(t + 1);
            if (slot >= _capacity) continue;
            var row = block.Data.AsSpan(i * block.D, block.D);
            _slots[slot] = slot < _dataSlots
                ? SampleRow.From(row, block.RowIds[i], block.DocIds[i], l0[i])
                : new SampleRow { RowId = block.RowIds[i], DocId = block.DocIds[i], L0 = l0[i] };
        }
    }

    int EstimateDataSlots(RowBlock b)
    {
        long nnz = 0;
        int rows = Math.Min(b.Rows, 256);
        for (int i = 0; i < rows * b.D; i++) if (b.Data[i] != 0) nnz++;
        double perRow = Math.Min(4.0 * b.D, 8.0 * nnz / Math.Max(1, rows)) * 1.5 + 64;
        return (int)Math.Min(_capacity, Math.Max(2, _memoryBytes / perRow));
    }

    public TokenSample Finish()
    {
        var rows = _slots.Where(s => s != null).Select(s => s!).ToList();
        // keep the data rows first (the PCA uses those), each group in stream order
        var ordered = rows.Where(r => r.HasData).OrderBy(r => r.RowId).Concat(rows.Where(r => !r.HasData).OrderBy(r => r.RowId)).ToList();
        return new TokenSample { Rows = ordered, Requested = _capacity, PcaMemoryBytes = _memoryBytes };
    }
}
