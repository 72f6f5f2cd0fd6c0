using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.IO;

namespace SaeGuard.Sae.Training;

/// <summary>Rows of a block visited in the given order (indices into the block).</summary>
public readonly record struct EpochChunk(RowBlock Block, int[] Order);

/// <summary>Rows an SAE trains on: an activation dump, or an in-memory matrix (tests, library use).</summary>
public abstract class TrainData
{
    public abstract int D { get; }
    public abstract long Rows { get; }
    /// <summary>Number of documents (0 when rows have no document structure).</summary>
    public abstract int Docs { get; }
    /// <summary>Identifies the data for checkpoint compatibility.</summary>
    public abstract string Identity { get; }
    /// <summary>
    /// All rows once, in an order fixed by (seed, epoch): chunks of rows, each visited in its
    /// Order. A chunk's data stays valid until the chunk after next is produced (buffers are reused:
    /// large fresh allocations cost a page fault per 4 KB here, more than the copy itself).
    /// </summary>
    public abstract IEnumerable<EpochChunk> Epoch(int seed, int epoch);
    /// <summary>
    /// The same epoch for a reader that will skip its first <paramref name="skipRows"/> rows: chunks
    /// wholly before them may come without data (only their Order's length is read). Lets a
    /// source that computes rows (<see cref="ModelActivationStore"/>) resume without recomputing.
    /// </summary>
    public virtual IEnumerable<EpochChunk> Epoch(int seed, int epoch, long skipRows) => Epoch(seed, epoch);
    /// <summary>Told the run's split before training; a source that computes rows may then leave
    /// out of <see cref="InOrder"/> the documents that hold no held-out row.</summary>
    public virtual void UseSplit(RowSplit split) { }
    /// <summary>All rows in order; a block's Data is reused by the next block.</summary>
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

/// <summary>
/// A dump folder read shard by shard into reused buffers. An epoch visits the shards in a seeded
/// order, pooling up to 4 of them (at most ~256 MB of float rows) and permuting their rows together.
/// </summary>
public sealed class DumpTrainData : TrainData
{
    const int MixShards = 4;
    const long MaxPoolFloats = 64L << 20;
    readonly ActivationDump _dump;
    readonly long[] _starts;
    readonly float[][] _pools = { Array.Empty<float>(), Array.Empty<float>() };
    float[] _ordered = Array.Empty<float>();
    byte[] _raw = Array.Empty<byte>();
    int _nextPool;

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

    public override IEnumerable<EpochChunk> Epoch(int seed, int epoch)
    {
        var rng = new Random(EpochSeed(seed, epoch));
        var order = Enumerable.Range(0, _dump.Meta.Shards.Count).ToArray();
        rng.Shuffle(order);
        int g = 0;
        while (g < order.Length)
        {
            var group = new List<int> { order[g++] };
            long rows = _dump.Meta.Shards[group[0]].Rows;
            while (g < order.Length && group.Count < MixShards && (rows + _dump.Meta.Shards[order[g]].Rows) * D <= MaxPoolFloats)
            {
                rows += _dump.Meta.Shards[order[g]].Rows;
                group.Add(order[g++]);
            }
            int p = _nextPool; _nextPool ^= 1;
            var block = Load(group, ref _pools[p]);
            var perm = Enumerable.Range(0, block.Rows).ToArray();
            rng.Shuffle(perm);
            yield return new EpochChunk(block, perm);
        }
    }

    public override IEnumerable<RowBlock> InOrder()
    {
        for (int s = 0; s < _dump.Meta.Shards.Count; s++)
            yield return Load(new List<int> { s }, ref _ordered);
    }

    /// <summary>The rows and token index of some shards, into a reused buffer (grown when needed).</summary>
    RowBlock Load(List<int> shards, ref float[] buffer)
    {
        long total = shards.Sum(s => _dump.Meta.Shards[s].Rows);
        if (_dump.Meta.Layout != "dense")
            return ActivationDump.Concat(shards.Select(_dump.ReadShard).ToList());
        if (buffer.Length < total * D) buffer = new float[total * D];
        int rows = (int)total, at = 0;
        List<int>? bad = null;
        var rowIds = new long[rows]; var docs = new int[rows]; var pos = new int[rows]; var tok = new int[rows]; var special = new bool[rows];
        var template = new bool[rows];
        foreach (var s in shards)
        {
            var info = _dump.Meta.Shards[s];
            var path = Path.Combine(_dump.Dir, info.File);
            int n = (int)info.Rows;
            try
            {
                using var r = new SafeTensorsReader(path);
                var t = r.Get("acts");
                int es = DTypes.Size(t.DType);
                const int ChunkRows = 2048;
                if (_raw.Length < ChunkRows * D * es) _raw = new byte[ChunkRows * D * es];
                for (int i = 0; i < n; i += ChunkRows)
                {
                    int c = Math.Min(ChunkRows, n - i);
                    var raw = _raw.AsSpan(0, c * D * es);
                    r.ReadBytes(t, (long)i * D * es, raw);
                    DTypes.ToFloat(t.DType, raw, buffer.AsSpan((at + i) * D, c * D));
                }
                bad = NonFiniteRows.Collect(bad, buffer.AsSpan(at * D, n * D), n, D, path, _starts[s], at);
                int[] Ints(string name) => r.Tensors.ContainsKey(name) ? r.ReadInts(name) : new int[n];
                Ints("doc_id").CopyTo(docs, at); Ints("position").CopyTo(pos, at); Ints("token_id").CopyTo(tok, at);
                var sp = Ints("is_special");
                for (int i = 0; i < n; i++) { special[at + i] = sp[i] != 0; rowIds[at + i] = _starts[s] + i; }
                if (r.Tensors.ContainsKey("is_template")) { var tp = r.ReadInts("is_template"); for (int i = 0; i < n; i++) template[at + i] = tp[i] != 0; }
            }
            catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
            at += n;
        }
        return NonFiniteRows.Drop(new RowBlock { Data = buffer, Rows = rows, D = D, RowIds = rowIds, DocIds = docs, Positions = pos, TokenIds = tok, IsSpecial = special, IsTemplate = template }, bad);
    }

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
    readonly Backend.Parallelism _par = new(0);
    readonly RowBlock _all;

    public MemoryTrainData(float[] data, int d, int[]? docIds = null, bool[]? special = null)
    {
        if (d <= 0) throw new UserError($"Row width must be positive, got {d}.");
        if (data.Length % d != 0) throw new UserError($"{data.Length} values do not make whole rows of width {d}.");
        _data = data; _d = d; _rows = data.Length / d;
        _docIds = docIds ?? new int[_rows];
        _special = special ?? new bool[_rows];
        if (_docIds.Length != _rows || _special.Length != _rows) throw new UserError("Doc ids / special flags must have one entry per row.");
        _all = new RowBlock
        {
            Data = data, Rows = _rows, D = d, RowIds = Enumerable.Range(0, _rows).Select(r => (long)r).ToArray(),
            DocIds = _docIds, Positions = new int[_rows], TokenIds = new int[_rows], IsSpecial = _special,
        };
    }

    public override int D => _d;
    public override long Rows => _rows;
    public override int Docs => 0;
    public override string Identity => $"memory|{_rows}|{_d}";
    public override string Where(long rowId) => $"row {rowId} of the training matrix";
    public override IEnumerable<(int[] DocIds, bool[] Special)> Index() { yield return (_docIds, _special); }

    public override IEnumerable<EpochChunk> Epoch(int seed, int epoch)
    {
        var perm = Enumerable.Range(0, _rows).ToArray();
        new Random(EpochSeed(seed, epoch)).Shuffle(perm);
        yield return new EpochChunk(_all, perm);
    }

    public override IEnumerable<RowBlock> InOrder()
    {
        for (int i = 0; i < _rows; i += 8192) yield return Block(Enumerable.Range(i, Math.Min(8192, _rows - i)).ToArray());
    }

    RowBlock Block(int[] rows)
    {
        var data = GC.AllocateUninitializedArray<float>(rows.Length * _d);
        _par.For(rows.Length, 16, (_, s, e) =>
        {
            for (int i = s; i < e; i++) _data.AsSpan(rows[i] * _d, _d).CopyTo(data.AsSpan(i * _d, _d));
        }, _d);
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
