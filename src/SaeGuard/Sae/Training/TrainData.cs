using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.IO;

namespace SaeGuard.Sae.Training;

/// <summary>Rows an SAE trains on: an activation dump, or an in-memory matrix (tests, library use).</summary>
public abstract class TrainData
{
    public abstract int D { get; }
    public abstract long Rows { get; }
    /// <summary>Number of documents (0 when rows have no document structure).</summary>
    public abstract int Docs { get; }
    /// <summary>Identifies the data for checkpoint compatibility.</summary>
    public abstract string Identity { get; }
    /// <summary>All rows once, in an order fixed by (seed, epoch).</summary>
    public abstract IEnumerable<RowBlock> Epoch(int seed, int epoch);
    /// <summary>All rows in order.</summary>
    public abstract IEnumerable<RowBlock> InOrder();
    /// <summary>The token index (doc id, is_special) of all rows in order, in pieces.</summary>
    public abstract IEnumerable<(int[] DocIds, bool[] Special)> Index();
    /// <summary>Where a row lives, for error messages.</summary>
    public abstract string Where(long rowId);

    protected static int EpochSeed(int seed, int epoch) => (int)(((uint)seed * 0x9E3779B1u) ^ ((uint)epoch * 0x85EBCA77u) ^ 0x5AE5EEDu) & int.MaxValue;

    /// <summary>Throws a <see cref="UserError"/> naming the row when it holds NaN or ±Inf.</summary>
    public void CheckFinite(ReadOnlySpan<float> row, long rowId)
    {
        if (!AllFinite(row))
            throw new UserError($"{Where(rowId)} holds NaN or Inf; SAE training needs finite activations (re-extract, or drop that document).");
    }

    public static bool AllFinite(ReadOnlySpan<float> v)
    {
        int i = 0, n = v.Length;
        ref float r = ref MemoryMarshal.GetReference(v);
        if (Vector512.IsHardwareAccelerated)
        {
            var acc = Vector512<float>.Zero;
            for (; i <= n - 16; i += 16) { var x = Vector512.LoadUnsafe(ref r, (nuint)i); acc += x - x; }
            if (!Vector512.EqualsAll(acc, Vector512<float>.Zero)) return false;
        }
        for (; i < n; i++) if (!float.IsFinite(v[i])) return false;
        return true;
    }
}

/// <summary>A dump folder read shard by shard; epochs come from <see cref="ActivationDump.ReadShuffled"/>.</summary>
public sealed class DumpTrainData : TrainData
{
    readonly ActivationDump _dump;
    readonly long[] _starts;

    public DumpTrainData(ActivationDump dump)
    {
        _dump = dump;
        _starts = new long[dump.Meta.Shards.Count + 1];
        for (int i = 0; i < dump.Meta.Shards.Count; i++) _starts[i + 1] = _starts[i] + dump.Meta.Shards[i].Rows;
    }

    public ActivationDump Dump => _dump;
    public override int D => _dump.D;
    public override long Rows => _dump.NTokens;
    public override int Docs => _dump.Meta.NDocs;
    public override string Identity => $"dump|{_dump.NTokens}|{_dump.D}|{string.Join(",", _dump.Meta.Shards.Select(s => s.Sha256.Length > 12 ? s.Sha256[..12] : s.Sha256))}";
    public override IEnumerable<RowBlock> Epoch(int seed, int epoch) => _dump.ReadShuffled(8192, EpochSeed(seed, epoch));
    public override IEnumerable<RowBlock> InOrder() => _dump.ReadBlocks(8192);

    public override IEnumerable<(int[] DocIds, bool[] Special)> Index()
    {
        foreach (var s in _dump.Meta.Shards)
        {
            var path = Path.Combine(_dump.Dir, s.File);
            int rows = (int)s.Rows;
            int[] docs; bool[] special;
            using (var r = new SafeTensorsReader(path))
            {
                docs = r.Tensors.ContainsKey("doc_id") ? r.ReadInts("doc_id") : new int[rows];
                special = r.Tensors.ContainsKey("is_special") ? r.ReadInts("is_special").Select(v => v != 0).ToArray() : new bool[rows];
            }
            if (docs.Length != rows || special.Length != rows)
                throw new UserError($"'{path}': the token index has {docs.Length} rows, meta.json says {rows}.");
            yield return (docs, special);
        }
    }

    public override string Where(long rowId)
    {
        int s = Array.BinarySearch(_starts, rowId);
        if (s < 0) s = ~s - 1;
        s = Math.Clamp(s, 0, _dump.Meta.Shards.Count - 1);
        var path = Path.Combine(_dump.Dir, _dump.Meta.Shards[s].File);
        return $"'{path}', row {rowId - _starts[s]} (dump row {rowId})";
    }
}

/// <summary>Rows of a float matrix [rows, d] held in memory.</summary>
public sealed class MemoryTrainData : TrainData
{
    readonly float[] _data;
    readonly int _d;
    readonly int[] _docIds;
    readonly bool[] _special;
    readonly int _rows;

    public MemoryTrainData(float[] data, int d, int[]? docIds = null, bool[]? special = null)
    {
        if (d <= 0) throw new UserError($"Row width must be positive, got {d}.");
        if (data.Length % d != 0) throw new UserError($"{data.Length} values do not make whole rows of width {d}.");
        _data = data; _d = d; _rows = data.Length / d;
        _docIds = docIds ?? new int[_rows];
        _special = special ?? new bool[_rows];
        if (_docIds.Length != _rows || _special.Length != _rows) throw new UserError("Doc ids / special flags must have one entry per row.");
    }

    public override int D => _d;
    public override long Rows => _rows;
    public override int Docs => 0;
    public override string Identity => $"memory|{_rows}|{_d}";
    public override string Where(long rowId) => $"row {rowId} of the training matrix";
    public override IEnumerable<(int[] DocIds, bool[] Special)> Index() { yield return (_docIds, _special); }

    public override IEnumerable<RowBlock> Epoch(int seed, int epoch)
    {
        var perm = Enumerable.Range(0, _rows).ToArray();
        new Random(EpochSeed(seed, epoch)).Shuffle(perm);
        for (int i = 0; i < _rows; i += 8192) yield return Block(perm.AsSpan(i, Math.Min(8192, _rows - i)).ToArray());
    }

    public override IEnumerable<RowBlock> InOrder()
    {
        for (int i = 0; i < _rows; i += 8192) yield return Block(Enumerable.Range(i, Math.Min(8192, _rows - i)).ToArray());
    }

    RowBlock Block(int[] rows)
    {
        var data = new float[rows.Length * _d];
        for (int i = 0; i < rows.Length; i++) Array.Copy(_data, (long)rows[i] * _d, data, (long)i * _d, _d);
        return new RowBlock
        {
            Data = data, Rows = rows.Length, D = _d,
            RowIds = rows.Select(r => (long)r).ToArray(),
            DocIds = rows.Select(r => _docIds[r]).ToArray(),
            Positions = new int[rows.Length],
            TokenIds = new int[rows.Length],
            IsSpecial = rows.Select(r => _special[r]).ToArray(),
        };
    }
}
