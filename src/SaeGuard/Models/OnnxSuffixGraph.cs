using System.Text;

namespace SaeGuard.Models;

public sealed partial class OnnxGraph
{
    /// <summary>
    /// The part of the graph after <paramref name="tensor"/>: that tensor becomes a float graph
    /// input [batch, tokens, <paramref name="width"/>] and only the nodes that <paramref name="output"/>
    /// needs, not counting what produced <paramref name="tensor"/>, are kept (with their initializers
    /// and the original inputs they still read, e.g. attention_mask). Feeding it a layer's hidden
    /// state runs the rest of the model on it: the splice point of <c>saeguard eval</c>.
    /// </summary>
    public byte[] SuffixFrom(string tensor, string output, int width)
    {
        if (Nodes.Any(n => n.OpType is "If" or "Loop" or "Scan"))
            throw new InvalidDataException("The graph has control flow (If/Loop/Scan); it cannot be split at a tensor.");
        if (tensor == output) throw new InvalidDataException($"'{tensor}' is the output itself; there is nothing after it.");
        var producer = new Dictionary<string, Node>();
        foreach (var n in Nodes) foreach (var o in n.Outputs) if (o.Length > 0) producer[o] = n;
        if (!producer.ContainsKey(output)) throw new InvalidDataException($"No node produces '{output}'.");
        var keep = new HashSet<int>();
        var todo = new Stack<string>();
        todo.Push(output);
        bool reached = false;
        while (todo.Count > 0)
        {
            var name = todo.Pop();
            if (name == tensor) { reached = true; continue; }
            if (producer.TryGetValue(name, out var n) && keep.Add(n.Index))
                foreach (var i in n.Inputs) if (i.Length > 0) todo.Push(i);
        }
        var fused = Nodes.FirstOrDefault(n => keep.Contains(n.Index) && n.Outputs.Contains(tensor));
        if (fused != null)
            throw new InvalidDataException($"'{tensor}' is made by node '{fused.Name}' ({fused.OpType}), whose other outputs the rest of the graph also reads (a fused norm that outputs the residual sum); the graph cannot be split there.");
        if (!reached) throw new InvalidDataException($"'{output}' does not depend on '{tensor}'.");
        var used = new HashSet<string>(Nodes.Where(n => keep.Contains(n.Index)).SelectMany(n => n.Inputs));
        var graph = CopyGraph(new GraphFilter(keep.Contains, used.Contains, used.Contains, name => name == output) { FirstInput = InputValueInfo(tensor, width) });
        return WithGraph(graph.ToArray());
    }

    /// <summary>A graph input entry (field 11): float [batch, tokens, width].</summary>
    static byte[] InputValueInfo(string name, int width)
    {
        static byte[] Dim(int field, byte[] value) => Concat(TagBytes(1, 2), VarintBytes((ulong)value.Length), value);
        static byte[] Param(string s) { var b = Encoding.UTF8.GetBytes(s); return Concat(TagBytes(2, 2), VarintBytes((ulong)b.Length), b); }
        var dims = Concat(Dim(1, Param("batch")), Dim(1, Param("tokens")), Dim(1, Concat(TagBytes(1, 0), VarintBytes((ulong)width))));
        var tensorType = Concat(TagBytes(1, 0), VarintBytes(1), TagBytes(2, 2), VarintBytes((ulong)dims.Length), dims);
        var typeProto = Concat(TagBytes(1, 2), VarintBytes((ulong)tensorType.Length), tensorType);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var vi = Concat(TagBytes(1, 2), VarintBytes((ulong)nameBytes.Length), nameBytes,
                        TagBytes(2, 2), VarintBytes((ulong)typeProto.Length), typeProto);
        return Concat(TagBytes(11, 2), VarintBytes((ulong)vi.Length), vi);
    }
}
