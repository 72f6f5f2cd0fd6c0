namespace SaeGuard.Models;

/// <summary>One LayerNorm in an ONNX graph: its output tensor and its gamma/beta initializers.</summary>
public sealed record LayerNormSite(int NodeIndex, string Output, string Gamma, string Beta);

/// <summary>
/// Finds LayerNorms by graph structure: native LayerNormalization nodes, or the decomposed form
/// torch exports at opset &lt; 17 (ReduceMean → Sub → … → Div → Mul(γ) → Add(β)).
/// In a post-LN encoder (BERT, MiniLM) LayerNorm 0 closes the embeddings and each block ends with
/// two (attention, then feed-forward): block i's output is LayerNorm 2 + 2i.
/// </summary>
public static class LayerNormLocator
{
    public static List<LayerNormSite> Find(OnnxGraph g)
    {
        var producer = new Dictionary<string, OnnxGraph.Node>();
        var consumers = new Dictionary<string, List<OnnxGraph.Node>>();
        foreach (var n in g.Nodes)
        {
            foreach (var o in n.Outputs) producer[o] = n;
            foreach (var i in n.Inputs)
            {
                if (!consumers.TryGetValue(i, out var l)) consumers[i] = l = new();
                l.Add(n);
            }
        }
        var sites = new List<LayerNormSite>();
        foreach (var n in g.Nodes)
        {
            if (n.OpType == "LayerNormalization" && n.Inputs.Length >= 3)
            {
                sites.Add(new LayerNormSite(n.Index, n.Outputs[0], n.Inputs[1], n.Inputs[2]));
                continue;
            }
            if (n.OpType != "Div" || n.Inputs.Length != 2) continue;
            if (!producer.TryGetValue(n.Inputs[0], out var sub) || sub.OpType != "Sub" || sub.Inputs.Length != 2) continue;
            if (!producer.TryGetValue(sub.Inputs[1], out var mean) || mean.OpType != "ReduceMean" || mean.Inputs[0] != sub.Inputs[0]) continue;
            var mul = Single(consumers, n.Outputs[0], "Mul");
            if (mul == null) continue;
            var gamma = mul.Inputs.FirstOrDefault(i => i != n.Outputs[0] && g.IsInitializer(i));
            if (gamma == null) continue;
            var add = Single(consumers, mul.Outputs[0], "Add");
            if (add == null) continue;
            var beta = add.Inputs.FirstOrDefault(i => i != mul.Outputs[0] && g.IsInitializer(i));
            if (beta == null) continue;
            sites.Add(new LayerNormSite(add.Index, add.Outputs[0], gamma, beta));
        }
        return sites.OrderBy(s => s.NodeIndex).ToList();
    }

    static OnnxGraph.Node? Single(Dictionary<string, List<OnnxGraph.Node>> consumers, string tensor, string op) =>
        consumers.TryGetValue(tensor, out var l) ? l.FirstOrDefault(c => c.OpType == op) : null;

    /// <summary>Block outputs of a post-LN encoder, or null when the LayerNorm count does not fit that shape.</summary>
    public static List<LayerNormSite>? BlockOutputs(List<LayerNormSite> sites)
    {
        if (sites.Count < 3 || sites.Count % 2 == 0) return null;
        var blocks = new List<LayerNormSite>();
        for (int i = 2; i < sites.Count; i += 2) blocks.Add(sites[i]);
        return blocks;
    }
}
