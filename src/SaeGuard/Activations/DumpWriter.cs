using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.IO;

namespace SaeGuard.Activations;

/// <summary>
/// Streams token rows into shards of bounded size, plus docs.jsonl, vocab.json and meta.json,
/// inside a temporary folder renamed into place by <see cref="Complete"/>.
/// </summary>
public sealed class DumpWriter : IDisposable
{
    readonly AtomicDirectory _dir;
    readonly DumpMeta _template;
    readonly int _d;
    readonly bool _f16;
    readonly int _shardRows;
    readonly int _k;
    readonly StreamWriter _docs;
    readonly List<ShardInfo> _shards = new();
    readonly List<float> _rows = new();
    readonly List<int> _idx = new();
    readonly List<int> _docIds = new(), _positions = new(), _tokenIds = new();
    readonly List<byte> _special = new();
    readonly List<byte> _isTemplate = new();
    bool _anyTemplate;
    long _nTokens;
    int _nDocs;

    public string TempPath => _dir.TempPath;

    /// <param name="outDir">The dump folder (written under a temporary sibling, moved in at the end).</param>
    /// <param name="template">meta.json fields (model, layer, hook, …) the dump records.</param>
    /// <param name="d">Row width.</param>
    /// <param name="f16">Store values as float16 (else float32).</param>
    /// <param name="k">0 for dense rows; &gt; 0 for the sparse top-k layout (indices + values per row).</param>
    /// <param name="maxShardBytes">Bytes per shard file (a shard is buffered whole before it is written).</param>
    public DumpWriter(string outDir, DumpMeta template, int d, bool f16 = true, int k = 0, long maxShardBytes = 64L << 20)
    {
        _dir = new AtomicDirectory(outDir);
        _template = template;
        _d = d; _f16 = f16; _k = k;
        long rowBytes = k > 0 ? k * (4L + (f16 ? 2 : 4)) : d * (f16 ? 2L : 4L);
        _shardRows = (int)Math.Clamp(maxShardBytes / Math.Max(1, rowBytes), 256, 1 << 20);
        _docs = new StreamWriter(_dir.File("docs.jsonl"), false, new System.Text.UTF8Encoding(false));
    }

    public int ShardRows => _shardRows;

    public void AddDoc(DocRecord doc)
    {
        _docs.WriteLine(JsonSerializer.Serialize(new { id = doc.Id, text = doc.Text, label = doc.Label, category = doc.Category, source = doc.Source }, JsonDefaults.Line));
        _nDocs++;
    }

    /// <summary>Adds dense rows [n, d] for one document; <paramref name="isTemplate"/> flags chat-template tokens (empty = none).</summary>
    public void AddRows(int docId, ReadOnlySpan<float> rows, ReadOnlySpan<int> tokenIds, ReadOnlySpan<bool> special, int firstPosition = 0, ReadOnlySpan<bool> isTemplate = default)
    {
        int n = tokenIds.Length;
        if (_k > 0) throw new InvalidOperationException("This writer is sparse; use AddSparseRows.");
        if (rows.Length != n * _d) throw new ArgumentException($"Expected {n}×{_d} values, got {rows.Length}.");
        for (int i = 0; i < n; i++)
        {
            var row = rows.Slice(i * _d, _d);
            foreach (var v in row) _rows.Add(v);
            AddIndex(docId, firstPosition + i, tokenIds[i], special[i]);
            AddTemplate(!isTemplate.IsEmpty && isTemplate[i]);
            if (_docIds.Count >= _shardRows) FlushShard();
        }
    }

    /// <summary>Adds sparse rows: for each of n rows, k (index, value) pairs.</summary>
    public void AddSparseRows(int docId, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<int> tokenIds, ReadOnlySpan<bool> special, int firstPosition = 0, ReadOnlySpan<bool> isTemplate = default)
    {
        int n = tokenIds.Length;
        if (_k == 0) throw new InvalidOperationException("This writer is dense; use AddRows.");
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < _k; j++) { _idx.Add(indices[i * _k + j]); _rows.Add(values[i * _k + j]); }
            AddIndex(docId, firstPosition + i, tokenIds[i], special[i]);
            AddTemplate(!isTemplate.IsEmpty && isTemplate[i]);
            if (_docIds.Count >= _shardRows) FlushShard();
        }
    }

    /// <summary>Per row: a chat-template token. The shard gets an is_template tensor only when one of its rows is.</summary>
    void AddTemplate(bool isTemplate)
    {
        _isTemplate.Add(isTemplate ? (byte)1 : (byte)0);
        _anyTemplate |= isTemplate;
    }

    void AddIndex(int docId, int pos, int tokenId, bool special)
    {
        _docIds.Add(docId); _positions.Add(pos); _tokenIds.Add(tokenId); _special.Add(special ? (byte)1 : (byte)0);
    }

    void FlushShard()
    {
        int rows = _docIds.Count;
        if (rows == 0) return;
        var name = $"shard_{_shards.Count:D5}.safetensors";
        var w = new SafeTensorsWriter();
        var vals = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_rows);
        if (_k == 0)
        {
            if (_f16) w.AddF16("acts", vals, rows, _d); else w.AddF32("acts", vals, rows, _d);
        }
        else
        {
            w.AddI32("topk_indices", System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_idx), rows, _k);
            if (_f16) w.AddF16("topk_values", vals, rows, _k); else w.AddF32("topk_values", vals, rows, _k);
        }
        w.AddI32("doc_id", System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_docIds), rows);
        w.AddI32("position", System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_positions), rows);
        w.AddI32("token_id", System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokenIds), rows);
        w.AddU8("is_special", System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_special), rows);
        if (_anyTemplate) w.AddU8("is_template", System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_isTemplate), rows);
        var path = _dir.File(name);
        w.Save(path);
        _shards.Add(new ShardInfo { File = name, Rows = rows, Sha256 = Hashing.Sha256File(path) });
        _nTokens += rows;
        _rows.Clear(); _idx.Clear(); _docIds.Clear(); _positions.Clear(); _tokenIds.Clear(); _special.Clear(); _isTemplate.Clear(); _anyTemplate = false;
    }

    /// <summary>Flushes the last shard, writes vocab.json and meta.json, and renames the folder into place.</summary>
    public DumpMeta Complete(Func<int, string>? tokenText = null, int vocabSize = 0, Func<DumpMeta, DumpMeta>? finish = null)
    {
        FlushShard();
        _docs.Dispose();
        if (tokenText != null && vocabSize > 0)
        {
            var vocab = Enumerable.Range(0, vocabSize).Select(tokenText).ToArray();
            File.WriteAllText(_dir.File("vocab.json"), JsonSerializer.Serialize(vocab, JsonDefaults.Line));
        }
        var meta = _template with
        {
            D = _d,
            K = _k > 0 ? _k : null,
            Layout = _k > 0 ? "sparse_topk" : "dense",
            Dtype = _f16 ? "f16" : "f32",
            NTokens = _nTokens,
            NDocs = _nDocs,
            Shards = _shards.ToList(),
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
        };
        if (finish != null) meta = finish(meta);
        meta.Save(_dir.TempPath);
        _dir.Commit();
        return meta;
    }

    /// <summary>Copies docs.jsonl and vocab.json of another dump (codes keep their activations' docs).</summary>
    public void CopyDocsFrom(string dumpDir)
    {
        _docs.Flush();
        var src = Path.Combine(dumpDir, "docs.jsonl");
        if (File.Exists(src)) { _docs.BaseStream.Position = 0; using var fs = File.OpenRead(src); fs.CopyTo(_docs.BaseStream); _docs.BaseStream.SetLength(fs.Length); }
        _nDocs = File.Exists(src) ? File.ReadLines(src).Count(l => l.Length > 0) : 0;
        var voc = Path.Combine(dumpDir, "vocab.json");
        if (File.Exists(voc)) File.Copy(voc, _dir.File("vocab.json"), true);
    }

    public void Dispose()
    {
        _docs.Dispose();
        _dir.Dispose();
    }
}
