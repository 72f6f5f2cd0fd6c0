using SaeGuard.Activations;
using SaeGuard.Sae.Training;

namespace SaeGuard.Interop;

/// <summary>
/// A foreign dump (.npy/.npz/.pt/safetensors chunks) as SAE training rows: an epoch visits the
/// chunks in a seeded order and permutes each chunk's rows, as <see cref="DumpTrainData"/> does with
/// shard files. Chunks carry no documents, so the held-out split is by row.
/// </summary>
public sealed class ForeignDumpTrainData : TrainData
{
    readonly ForeignDump _dump;
    readonly long[] _starts;
    readonly float[][] _pools = { Array.Empty<float>(), Array.Empty<float>() };
    int _next;

    public ForeignDumpTrainData(ForeignDump dump)
    {
        _dump = dump;
        _starts = new long[dump.ChunkRows.Count + 1];
        for (int i = 0; i < dump.ChunkRows.Count; i++) _starts[i + 1] = _starts[i] + dump.ChunkRows[i];
    }

    public override int D => _dump.Width;
    public override long Rows => _dump.Rows;
    public override int Docs => 0;
    public override string Identity => $"foreign|{Rows}|{D}|{string.Join(",", _dump.Chunks.Select(Path.GetFileName))}";

    public override IEnumerable<EpochChunk> Epoch(int seed, int epoch)
    {
        var rng = new Random(EpochSeed(seed, epoch));
        var order = Enumerable.Range(0, _dump.ChunkRows.Count).ToArray();
        rng.Shuffle(order);
        foreach (var c in order)
        {
            var block = Load(c, ref _pools[_next]);
            _next ^= 1;
            var perm = Enumerable.Range(0, block.Rows).ToArray();
            rng.Shuffle(perm);
            yield return new EpochChunk(block, perm);
        }
    }

    RowBlock Load(int chunk, ref float[] buffer)
    {
        int rows = (int)_dump.ChunkRows[chunk], at = 0;
        if (buffer.LongLength < (long)rows * D) buffer = new float[(long)rows * D];
        var ids = new long[rows]; var docs = new int[rows]; var pos = new int[rows]; var tok = new int[rows];
        foreach (var b in _dump.ReadChunkBlocks(chunk, _starts[chunk]))
        {
            Array.Copy(b.Data, 0, buffer, (long)at * D, (long)b.Rows * D);
            b.RowIds.CopyTo(ids, at); b.DocIds.CopyTo(docs, at); b.Positions.CopyTo(pos, at); b.TokenIds.CopyTo(tok, at);
            at += b.Rows;
        }
        return new RowBlock { Data = buffer, Rows = rows, D = D, RowIds = ids, DocIds = docs, Positions = pos, TokenIds = tok, IsSpecial = new bool[rows] };
    }

    public override IEnumerable<RowBlock> InOrder() => _dump.ReadBlocks();

    public override IEnumerable<(int[] DocIds, bool[] Special)> Index()
    {
        foreach (var n in _dump.ChunkRows) yield return (new int[n], new bool[n]);
    }

    public override string Where(long rowId)
    {
        int c = Array.BinarySearch(_starts, rowId);
        if (c < 0) c = ~c - 1;
        c = Math.Clamp(c, 0, _dump.Chunks.Count - 1);
        return $"'{_dump.Chunks[c]}', row {rowId - _starts[c]} (dump row {rowId})";
    }
}
