using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Models;

namespace SaeGuard.Sae.Training;

public sealed record ModelStoreOptions
{
    /// <summary>Rows in the mixing buffer (SAELens: n_batches_in_buffer × batch size).</summary>
    public int BufferRows { get; init; } = 20 * 4096;
    /// <summary>Stop after this many corpus tokens (0 = all), as <c>extract --max-tokens</c>.</summary>
    public long MaxTokens { get; init; }
    /// <summary>Fingerprint of the corpus (files and read options), part of the checkpoint identity.</summary>
    public string CorpusKey { get; init; } = "";
}

/// <summary>
/// Training rows straight from the model (SAELens' activation store, sparsify's streaming):
/// a producer runs the model over the corpus in order, a buffer of <see cref="ModelStoreOptions.BufferRows"/>
/// rows is filled, shuffled, and its first half handed to the trainer; the kept half is topped up
/// with fresh rows and shuffled again, until the corpus ends and the rest goes out shuffled.
/// Nothing is written. With a buffer that holds the whole corpus the order is exactly that of a
/// one-file dump of the same corpus (<see cref="DumpTrainData"/>: one pool permuted by the same
/// seeded generator), so training matches training from that dump. Resuming replays the mixing on
/// row numbers only, recomputes the rows the buffer held, and restarts the producer at the
/// document where it stopped. Memory: three buffers of rows × d floats, one window of documents,
/// and 8 bytes per document (where each starts).
/// </summary>
public sealed class ModelActivationStore : TrainData
{
    const int IndexWindow = 256;
    readonly IActivationSource _src;
    readonly Func<IEnumerable<DocRecord>> _corpus;
    readonly ModelStoreOptions _o;
    readonly long[] _docStart;
    readonly int _capacity;
    readonly float[][] _out = { Array.Empty<float>(), Array.Empty<float>() };
    int _nextOut;

    public ModelActivationStore(IActivationSource source, Func<IEnumerable<DocRecord>> corpus, ModelStoreOptions? options = null)
    {
        _src = source; _corpus = corpus; _o = options ?? new ModelStoreOptions();
        if (_o.BufferRows < 2) throw new UserError($"The activation buffer must hold at least 2 rows, got {_o.BufferRows}.");
        var starts = new List<long> { 0 };
        long rows = 0;
        foreach (var doc in corpus())
        {
            long n = source.Tokenize(doc.Text).Length;
            if (_o.MaxTokens > 0 && rows + n >= _o.MaxTokens) n = _o.MaxTokens - rows;
            if (n <= 0) break;
            rows += n;
            starts.Add(rows);
            if (_o.MaxTokens > 0 && rows >= _o.MaxTokens) break;
        }
        if (rows == 0) throw new UserError("The corpus holds no tokens to train on.");
        _docStart = starts.ToArray();
        _capacity = (int)Math.Min(_o.BufferRows, rows);
    }

    public override int D => _src.Width;
    public override long Rows => _docStart[^1];
    public override int Docs => _docStart.Length - 1;
    public override string Identity => $"model|{(_src.ModelSha256.Length > 12 ? _src.ModelSha256[..12] : _src.ModelSha256)}|{_src.Layer}|{Rows}|{_o.CorpusKey}|{_o.BufferRows}";
    public int BufferRows => _capacity;

    /// <summary>What cfg.json records about the activations (the dataset is the model's run over the corpus).</summary>
    public SaeMetadata Metadata() => new()
    {
        ModelName = _src.ModelName, HookName = $"blocks.{_src.Layer}.hook_{_src.Hook}", Layer = _src.Layer,
        ModelSha256 = string.IsNullOrEmpty(_src.ModelSha256) ? null : _src.ModelSha256, Dataset = $"model:{_o.CorpusKey}",
        ContextSize = _src.MaxLength > 0 ? _src.MaxLength : null,
        PrependBos = _src.Tokenize("a") is { Length: > 0 } t ? t.IsSpecial[0] : null,
    };

    int DocOf(long row)
    {
        int i = Array.BinarySearch(_docStart, row);
        return i >= 0 ? i : ~i - 1;
    }

    public override string Where(long rowId)
    {
        int doc = Math.Clamp(DocOf(rowId), 0, Docs - 1);
        return $"document {doc} of the corpus (token {rowId - _docStart[doc]}, row {rowId}) through '{_src.ModelName}' layer {_src.Layer}";
    }

    IEnumerable<DocRows> Produce(int firstDoc) =>
        DocumentActivations.Stream(_src, _corpus().Skip(firstDoc).Take(Docs - firstDoc), firstDoc, _docStart[firstDoc], _o.MaxTokens);

    public override IEnumerable<(int[] DocIds, bool[] Special)> Index()
    {
        int doc = 0;
        foreach (var window in _corpus().Take(Docs).Chunk(IndexWindow))
        {
            int n0 = (int)(_docStart[doc + window.Length] - _docStart[doc]);
            var ids = new int[n0]; var special = new bool[n0];
            int at = 0;
            foreach (var d in window)
            {
                var t = _src.Tokenize(d.Text);
                int n = (int)(_docStart[doc + 1] - _docStart[doc]);
                Array.Fill(ids, doc, at, n);
                Array.Copy(t.IsSpecial, 0, special, at, n);
                at += n; doc++;
            }
            yield return (ids, special);
        }
    }

    RowSplit? _split;

    public override void UseSplit(RowSplit split) => _split = split;

    /// <summary>All rows in order, except (once the split is known and is by document) the documents with no held-out row:
    /// the final metrics then cost a forward pass over the held-out documents only.</summary>
    public override IEnumerable<RowBlock> InOrder()
    {
        var buf = new Buffer(_capacity, D);
        var split = _split;
        Func<int, bool>? keep = split is { ByDocument: true } ? doc => split.IsHeldOut(0, doc) : null;
        foreach (var doc in DocumentActivations.Stream(_src, _corpus().Take(Docs), 0, 0, _o.MaxTokens, keepDoc: keep))
        {
            if (buf.Count + doc.Count > buf.Capacity && buf.Count > 0) { yield return buf.Block(); buf.Count = 0; }
            if (doc.Count > buf.Capacity) buf = new Buffer(doc.Count, D);
            buf.Add(doc, 0, doc.Count);
        }
        if (buf.Count > 0) yield return buf.Block();
    }

    public override IEnumerable<EpochChunk> Epoch(int seed, int epoch) => Epoch(seed, epoch, 0);

    public override IEnumerable<EpochChunk> Epoch(int seed, int epoch, long skipRows)
    {
        var rng = new Random(EpochSeed(seed, epoch));
        rng.Shuffle(new int[1]);                       // the dump's shard-order shuffle (one shard: draws nothing)
        var res = new Buffer(_capacity, D);
        var spare = new Buffer(_capacity, D);
        bool live = skipRows == 0;
        long produced = 0, consumed = 0;
        IEnumerator<DocRows>? producer = null;
        DocRows? pending = null;
        int pendingAt = 0;
        try
        {
            while (true)
            {
                int take = (int)Math.Min(_capacity - res.Count, Rows - produced);
                if (live)
                {
                    if (producer == null)
                    {
                        int first = DocOf(produced);
                        producer = Produce(first).GetEnumerator();
                        pending = null; pendingAt = (int)(produced - _docStart[first]);
                    }
                    for (int need = take; need > 0;)
                    {
                        if (pending == null || pendingAt >= pending.Count)
                        {
                            if (!producer.MoveNext()) throw new UserError("The corpus changed while training (fewer tokens than counted at the start).");
                            if (pending != null) pendingAt = 0;
                            pending = producer.Current;
                        }
                        int n = Math.Min(need, pending.Count - pendingAt);
                        res.Add(pending, pendingAt, n);
                        pendingAt += n; need -= n;
                    }
                }
                else res.AddIds(produced, take);
                produced += take;
                if (res.Count == 0) yield break;

                var perm = Enumerable.Range(0, res.Count).ToArray();
                rng.Shuffle(perm);
                int emit = produced >= Rows ? res.Count : Math.Max(1, res.Count / 2);
                if (!live && consumed + emit <= skipRows)
                {
                    consumed += emit;
                    yield return new EpochChunk(Placeholder, new int[emit]);
                    spare.KeepIds(res, perm, emit); (res, spare) = (spare, res);
                    continue;
                }
                if (!live) { Materialize(res); live = true; }
                var block = Emit(res, perm, emit);
                spare.Keep(res, perm, emit); (res, spare) = (spare, res);
                consumed += emit;
                yield return new EpochChunk(block, Enumerable.Range(0, emit).ToArray());
                if (produced >= Rows && res.Count == 0) yield break;
            }
        }
        finally { producer?.Dispose(); }
    }

    static readonly RowBlock Placeholder = new()
    {
        Data = Array.Empty<float>(), Rows = 0, D = 0, RowIds = Array.Empty<long>(), DocIds = Array.Empty<int>(),
        Positions = Array.Empty<int>(), TokenIds = Array.Empty<int>(), IsSpecial = Array.Empty<bool>(),
    };

    /// <summary>Recomputes the rows a resumed buffer holds (known by row number only): the documents that own them, in runs.</summary>
    void Materialize(Buffer res)
    {
        var where = new Dictionary<long, int>(res.Count);
        for (int i = 0; i < res.Count; i++) where[res.RowIds[i]] = i;
        var docs = where.Keys.Select(DocOf).Distinct().Order().ToList();
        int r = 0;
        while (r < docs.Count)
        {
            int start = docs[r], end = start;
            while (r + 1 < docs.Count && docs[r + 1] == end + 1) { r++; end++; }
            r++;
            foreach (var doc in DocumentActivations.Stream(_src, _corpus().Skip(start).Take(end - start + 1), start, _docStart[start], _o.MaxTokens))
                for (int t = 0; t < doc.Count; t++)
                    if (where.TryGetValue(doc.FirstRow + t, out int slot)) res.Set(slot, doc, t);
        }
    }

    RowBlock Emit(Buffer res, int[] perm, int emit)
    {
        int p = _nextOut; _nextOut ^= 1;
        if (_out[p].Length < (long)emit * D) _out[p] = new float[(long)emit * D];
        var data = _out[p];
        var b = new RowBlock
        {
            Data = data, Rows = emit, D = D, RowIds = new long[emit], DocIds = new int[emit], Positions = new int[emit],
            TokenIds = new int[emit], IsSpecial = new bool[emit],
        };
        for (int i = 0; i < emit; i++)
        {
            int s = perm[i];
            Array.Copy(res.Data, (long)s * D, data, (long)i * D, D);
            b.RowIds[i] = res.RowIds[s]; b.DocIds[i] = res.DocIds[s]; b.Positions[i] = res.Positions[s];
            b.TokenIds[i] = res.TokenIds[s]; b.IsSpecial[i] = res.Special[s];
        }
        return b;
    }

    /// <summary>Rows with their token index, filled in order.</summary>
    sealed class Buffer
    {
        public readonly int Capacity, D;
        public readonly float[] Data;
        public readonly long[] RowIds;
        public readonly int[] DocIds, Positions, TokenIds;
        public readonly bool[] Special;
        public int Count;

        public Buffer(int capacity, int d)
        {
            Capacity = capacity; D = d;
            Data = new float[(long)capacity * d]; RowIds = new long[capacity];
            DocIds = new int[capacity]; Positions = new int[capacity]; TokenIds = new int[capacity]; Special = new bool[capacity];
        }

        public void Add(DocRows doc, int from, int n)
        {
            Array.Copy(doc.Acts, (long)from * D, Data, (long)Count * D, (long)n * D);
            for (int t = 0; t < n; t++) SetIndex(Count + t, doc, from + t);
            Count += n;
        }

        public void Set(int slot, DocRows doc, int t)
        {
            Array.Copy(doc.Acts, (long)t * D, Data, (long)slot * D, D);
            SetIndex(slot, doc, t);
        }

        void SetIndex(int slot, DocRows doc, int t)
        {
            RowIds[slot] = doc.FirstRow + t; DocIds[slot] = doc.DocId; Positions[slot] = t;
            TokenIds[slot] = doc.TokenIds[t]; Special[slot] = doc.Special[t];
        }

        public void AddIds(long first, int n)
        {
            for (int i = 0; i < n; i++) RowIds[Count + i] = first + i;
            Count += n;
        }

        /// <summary>This buffer becomes the rows of <paramref name="src"/> not emitted (perm[emit..]), in perm order.</summary>
        public void Keep(Buffer src, int[] perm, int emit)
        {
            Count = 0;
            for (int i = emit; i < src.Count; i++, Count++)
            {
                int s = perm[i];
                Array.Copy(src.Data, (long)s * D, Data, (long)Count * D, D);
                RowIds[Count] = src.RowIds[s]; DocIds[Count] = src.DocIds[s]; Positions[Count] = src.Positions[s];
                TokenIds[Count] = src.TokenIds[s]; Special[Count] = src.Special[s];
            }
            src.Count = 0;
        }

        public void KeepIds(Buffer src, int[] perm, int emit)
        {
            Count = 0;
            for (int i = emit; i < src.Count; i++) RowIds[Count++] = src.RowIds[perm[i]];
            src.Count = 0;
        }

        public RowBlock Block() => new()
        {
            Data = Data, Rows = Count, D = D, RowIds = RowIds[..Count], DocIds = DocIds[..Count], Positions = Positions[..Count],
            TokenIds = TokenIds[..Count], IsSpecial = Special[..Count],
        };
    }
}
