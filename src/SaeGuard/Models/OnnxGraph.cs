using System.Text;

namespace SaeGuard.Models;

/// <summary>
/// A minimal reader of an ONNX ModelProto's graph (nodes, inputs, outputs, float initializers) by
/// raw protobuf wire parsing, and an editor that sets graph outputs. Enough to locate a layer's
/// hidden state by graph structure and expose it (pruning the nodes after it), without generated
/// protobuf classes.
/// </summary>
public sealed partial class OnnxGraph
{
    public sealed record Node(int Index, string OpType, string Name, string[] Inputs, string[] Outputs);

    readonly byte[] _model;
    readonly int _graphStart, _graphLen, _graphTagStart;
    readonly Dictionary<string, (int Start, int Len)> _initializers = new();

    public IReadOnlyList<Node> Nodes { get; }
    public IReadOnlyList<string> Inputs { get; }
    public IReadOnlyList<string> Outputs { get; }
    public IReadOnlyCollection<string> InitializerNames => _initializers.Keys;

    public OnnxGraph(byte[] model)
    {
        _model = model;
        var nodes = new List<Node>();
        var inputs = new List<string>();
        var outputs = new List<string>();
        bool found = false;
        int p = 0;
        while (p < model.Length)
        {
            int tagStart = p;
            var (field, wire) = Tag(model, ref p);
            if (field == 7 && wire == 2)
            {
                int len = (int)Varint(model, ref p);
                _graphTagStart = tagStart; _graphStart = p; _graphLen = len; found = true;
                p += len;
            }
            else Skip(model, ref p, wire);
        }
        if (!found) throw new InvalidDataException("The ONNX file has no graph.");
        var initNames = new HashSet<string>();
        foreach (var (f, w, s, l) in Fields(model, _graphStart, _graphStart + _graphLen))
        {
            if (w != 2) continue;
            switch (f)
            {
                case 1: nodes.Add(ReadNode(nodes.Count, s, l)); break;
                case 5: ReadInitializer(s, l); break;
                case 11: inputs.Add(ReadValueInfoName(s, l)); break;
                case 12: outputs.Add(ReadValueInfoName(s, l)); break;
            }
        }
        Nodes = nodes;
        Inputs = inputs.Where(i => !_initializers.ContainsKey(i)).ToList();
        Outputs = outputs;
    }

    Node ReadNode(int index, int s, int l)
    {
        var ins = new List<string>(); var outs = new List<string>(); string op = "", name = "";
        foreach (var (f, w, fs, fl) in Fields(_model, s, s + l))
        {
            if (w != 2) continue;
            if (f == 1) ins.Add(Str(fs, fl));
            else if (f == 2) outs.Add(Str(fs, fl));
            else if (f == 3) name = Str(fs, fl);
            else if (f == 4) op = Str(fs, fl);
        }
        return new Node(index, op, name, ins.ToArray(), outs.ToArray());
    }

    void ReadInitializer(int s, int l)
    {
        foreach (var (f, w, fs, fl) in Fields(_model, s, s + l))
            if (f == 8 && w == 2) { _initializers[Str(fs, fl)] = (s, l); return; }
    }

    string ReadValueInfoName(int s, int l)
    {
        foreach (var (f, w, fs, fl) in Fields(_model, s, s + l))
            if (f == 1 && w == 2) return Str(fs, fl);
        return "";
    }

    /// <summary>Values of a float initializer (raw_data or float_data).</summary>
    public float[] InitializerFloats(string name)
    {
        if (!_initializers.TryGetValue(name, out var loc)) throw new KeyNotFoundException(name);
        int dataType = 0;
        byte[]? raw = null;
        var floats = new List<float>();
        foreach (var (f, w, fs, fl) in Fields(_model, loc.Start, loc.Start + loc.Len))
        {
            if (f == 2 && w == 0) dataType = (int)ValueAt(fs);
            else if (f == 9 && w == 2) raw = _model.AsSpan(fs, fl).ToArray();
            else if (f == 4 && w == 2) for (int i = 0; i < fl; i += 4) floats.Add(BitConverter.ToSingle(_model, fs + i));
            else if (f == 4 && w == 5) floats.Add(BitConverter.ToSingle(_model, fs));
        }
        if (dataType != 1) throw new InvalidDataException($"Initializer '{name}' is not float32 (data_type {dataType}).");
        if (raw != null) return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray();
        return floats.ToArray();
    }

    long ValueAt(int p) { int q = p; return (long)Varint(_model, ref q); }

    public bool IsInitializer(string name) => _initializers.ContainsKey(name);

    /// <summary>True when a node produces <paramref name="name"/>, or it is a graph input or initializer.</summary>
    public bool HasTensor(string name) =>
        Inputs.Contains(name) || _initializers.ContainsKey(name) || Nodes.Any(n => n.Outputs.Contains(name));

    /// <summary>Returns a copy of the model with extra float graph outputs (names of existing tensors).</summary>
    public byte[] WithExtraOutputs(IEnumerable<string> names)
    {
        var graph = new MemoryStream(_graphLen + 64);
        graph.Write(_model, _graphStart, _graphLen);
        foreach (var name in names) graph.Write(OutputValueInfo(name));
        return WithGraph(graph.ToArray());
    }

    /// <summary>
    /// Returns a copy of the model whose only output is <paramref name="tensor"/> and whose nodes (and
    /// initializers) are just those it depends on: capturing block N then skips the blocks after it. Graphs with
    /// control flow (If/Loop/Scan, whose subgraphs may read outer tensors) keep all their nodes and
    /// get the tensor as an extra output instead.
    /// </summary>
    public byte[] PrunedTo(string tensor)
    {
        if (Nodes.Any(n => n.OpType is "If" or "Loop" or "Scan"))
            return Outputs.Contains(tensor) ? _model : WithExtraOutputs(new[] { tensor });
        var producer = new Dictionary<string, Node>();
        foreach (var n in Nodes) foreach (var o in n.Outputs) if (o.Length > 0) producer[o] = n;
        var keep = new HashSet<int>();
        var todo = new Stack<string>();
        todo.Push(tensor);
        while (todo.Count > 0)
            if (producer.TryGetValue(todo.Pop(), out var n) && keep.Add(n.Index))
                foreach (var i in n.Inputs) if (i.Length > 0) todo.Push(i);

        var used = new HashSet<string>(Nodes.Where(n => keep.Contains(n.Index)).SelectMany(n => n.Inputs));
        used.Add(tensor);
        bool outputKept = false;
        var graph = CopyGraph(new GraphFilter(
            Node: keep.Contains,
            Initializer: used.Contains,
            // older exporters also list initializers as graph inputs: drop those of dropped initializers
            Input: name => !_initializers.ContainsKey(name) || used.Contains(name),
            Output: name => { bool k = name == tensor; outputKept |= k; return k; }));
        if (!outputKept) graph.Write(OutputValueInfo(tensor));
        return WithGraph(graph.ToArray());
    }

    /// <summary>Which entries of the graph message <see cref="CopyGraph"/> keeps: nodes by index, the others by name.</summary>
    sealed record GraphFilter(Func<int, bool> Node, Func<string, bool> Initializer, Func<string, bool> Input, Func<string, bool> Output)
    {
        /// <summary>Written just before the first graph input entry (or at the end when there is none).</summary>
        public byte[]? FirstInput { get; init; }
    }

    /// <summary>The graph message's fields in their order, without the nodes, initializers, inputs and outputs <paramref name="keep"/> rejects.</summary>
    MemoryStream CopyGraph(GraphFilter keep)
    {
        var graph = new MemoryStream(_graphLen);
        int nodeIndex = 0;
        bool inputWritten = keep.FirstInput == null;
        int p = _graphStart, end = _graphStart + _graphLen;
        while (p < end)
        {
            int tagStart = p;
            var (field, wire) = Tag(_model, ref p);
            int valueStart = p;
            Skip(_model, ref p, wire);
            bool copy = true;
            if (field == 1 && wire == 2) copy = keep.Node(nodeIndex++);
            else if (field == 5 && wire == 2) copy = keep.Initializer(NameOf(valueStart, TensorNameField));
            else if (field == 11 && wire == 2)
            {
                if (!inputWritten) { graph.Write(keep.FirstInput!); inputWritten = true; }
                copy = keep.Input(NameOf(valueStart, ValueInfoNameField));
            }
            else if (field == 12 && wire == 2) copy = keep.Output(NameOf(valueStart, ValueInfoNameField));
            if (copy) graph.Write(_model, tagStart, p - tagStart);
        }
        if (!inputWritten) graph.Write(keep.FirstInput!);
        return graph;
    }

    const int TensorNameField = 8, ValueInfoNameField = 1;

    /// <summary>The name (string field <paramref name="nameField"/>) of the length-prefixed message starting at <paramref name="p"/>.</summary>
    string NameOf(int p, int nameField)
    {
        int len = (int)Varint(_model, ref p);
        foreach (var (f, w, fs, fl) in Fields(_model, p, p + len))
            if (f == nameField && w == 2) return Str(fs, fl);
        return "";
    }

    /// <summary>A graph output entry (field 12) for a float tensor of unspecified shape.</summary>
    static byte[] OutputValueInfo(string name)
    {
        // ValueInfoProto { name = 1; type = 2 { tensor_type = 1 { elem_type = 1 (FLOAT) } } }
        var tensorType = Concat(TagBytes(1, 0), VarintBytes(1));
        var typeProto = Concat(TagBytes(1, 2), VarintBytes((ulong)tensorType.Length), tensorType);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var vi = Concat(TagBytes(1, 2), VarintBytes((ulong)nameBytes.Length), nameBytes,
                        TagBytes(2, 2), VarintBytes((ulong)typeProto.Length), typeProto);
        return Concat(TagBytes(12, 2), VarintBytes((ulong)vi.Length), vi);
    }

    /// <summary>The model with its graph message replaced.</summary>
    byte[] WithGraph(byte[] graph)
    {
        var result = new MemoryStream(_model.Length - _graphLen + graph.Length + 8);
        result.Write(_model, 0, _graphTagStart);
        result.Write(TagBytes(7, 2));
        result.Write(VarintBytes((ulong)graph.Length));
        result.Write(graph);
        result.Write(_model, _graphStart + _graphLen, _model.Length - _graphStart - _graphLen);
        return result.ToArray();
    }

    string Str(int s, int l) => Encoding.UTF8.GetString(_model, s, l);

    static byte[] Concat(params byte[][] parts) => parts.SelectMany(x => x).ToArray();
    static byte[] TagBytes(int field, int wire) => VarintBytes((ulong)((field << 3) | wire));

    static byte[] VarintBytes(ulong v)
    {
        var list = new List<byte>();
        do { byte b = (byte)(v & 0x7F); v >>= 7; if (v != 0) b |= 0x80; list.Add(b); } while (v != 0);
        return list.ToArray();
    }

    static ulong Varint(byte[] d, ref int p)
    {
        ulong r = 0; int shift = 0;
        while (true)
        {
            if (p >= d.Length || shift > 63) throw new InvalidDataException("Malformed ONNX protobuf (varint).");
            byte b = d[p++];
            r |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return r;
            shift += 7;
        }
    }

    static (int Field, int Wire) Tag(byte[] d, ref int p)
    {
        var t = Varint(d, ref p);
        return ((int)(t >> 3), (int)(t & 7));
    }

    static void Skip(byte[] d, ref int p, int wire)
    {
        switch (wire)
        {
            case 0: Varint(d, ref p); break;
            case 1: p += 8; break;
            case 2: { int len = (int)Varint(d, ref p); p += len; break; }
            case 5: p += 4; break;
            default: throw new InvalidDataException($"Malformed ONNX protobuf (wire type {wire}).");
        }
        if (p > d.Length) throw new InvalidDataException("Malformed ONNX protobuf (truncated).");
    }

    /// <summary>Fields of a message in [start, end): (field, wire, value start, length); varints have length 0.</summary>
    static IEnumerable<(int, int, int, int)> Fields(byte[] d, int start, int end)
    {
        int p = start;
        while (p < end)
        {
            var (f, w) = Tag(d, ref p);
            int s = p;
            if (w == 2)
            {
                int l = (int)Varint(d, ref p);
                s = p; p += l;
                if (p > end) throw new InvalidDataException("Malformed ONNX protobuf (field overruns message).");
                yield return (f, w, s, l);
            }
            else
            {
                Skip(d, ref p, w);
                yield return (f, w, s, w == 5 ? 4 : w == 1 ? 8 : 0);
            }
        }
    }
}
