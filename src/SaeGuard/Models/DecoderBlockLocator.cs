namespace SaeGuard.Models;

/// <summary>
/// One normalization in a decoder graph and the residual-stream tensor it reads: the input of a
/// LayerNorm / RMSNorm (native, fused or decomposed), or output 3 (input + skip) of a fused
/// SkipLayerNormalization / SkipSimplifiedLayerNormalization. <see cref="Stream"/> is null when a
/// fused node does not expose that sum.
/// </summary>
public sealed record NormSite(int NodeIndex, string Kind, string NodeName, string? Stream, bool Fused);

/// <summary>
/// Finds the residual stream after every block of a pre-norm decoder (GPT-2, Llama, Qwen2, Phi-3,
/// Gemma exports) by graph structure. In such a block, <c>a = x + attn(norm₁(x)); x' = a + mlp(norm₂(a))</c>,
/// and the stack ends with a final norm: the norms read 2·layers + 1 residual tensors in order, and
/// block i's output is the one read by norm 2i + 2 (the next block's first norm, or the final norm).
/// A residual tensor is recognised because, besides its norm, a residual <c>Add</c> reads it (all but the
/// last), or because a fused Skip*Normalization made it.
/// </summary>
public static class DecoderBlockLocator
{
    public const string LookedFor =
        "pre-norm decoder blocks (a residual Add read by LayerNormalization, decomposed LayerNorm (ReduceMean→Sub→…→Div), " +
        "RMSNorm (Pow/Mul→ReduceMean→Add ε→Sqrt→Div or Reciprocal→Mul, SimplifiedLayerNormalization, RMSNormalization), " +
        "or fused SkipLayerNormalization / SkipSimplifiedLayerNormalization whose output 3 is the stream; 2 norms per block plus the final norm)";

    public static List<NormSite> FindNorms(OnnxGraph g)
    {
        var producer = new Dictionary<string, OnnxGraph.Node>();
        var consumers = Consumers(g);
        foreach (var n in g.Nodes) foreach (var o in n.Outputs) if (o.Length > 0) producer[o] = n;
        var sites = new List<NormSite>();
        var lnCentered = new HashSet<string>();
        foreach (var n in g.Nodes)
        {
            switch (n.OpType)
            {
                case "LayerNormalization" or "SimplifiedLayerNormalization" or "RMSNormalization":
                    sites.Add(new NormSite(n.Index, n.OpType, n.Name, n.Inputs[0], true));
                    continue;
                case "SkipLayerNormalization" or "SkipSimplifiedLayerNormalization":
                    sites.Add(new NormSite(n.Index, n.OpType, n.Name, n.Outputs.Length > 3 && n.Outputs[3].Length > 0 ? n.Outputs[3] : null, true));
                    continue;
                case "ReduceMean" when n.Inputs.Length >= 1:
                    var x = n.Inputs[0];
                    // LayerNorm: Sub(x, ReduceMean(x))
                    var sub = Uses(consumers, n.Outputs[0]).FirstOrDefault(c => c.OpType == "Sub" && c.Inputs.Length == 2 && c.Inputs[0] == x && c.Inputs[1] == n.Outputs[0]);
                    if (sub != null)
                    {
                        lnCentered.Add(sub.Outputs[0]);
                        sites.Add(new NormSite(n.Index, "LayerNorm (decomposed)", n.Name, x, false));
                        continue;
                    }
                    // RMSNorm: ReduceMean(Pow(x, 2)) or ReduceMean(Mul(x, x)), then ε, Sqrt, and x scaled by its inverse
                    if (producer.TryGetValue(x, out var sq) && (sq.OpType == "Pow" && sq.Inputs.Length == 2 || sq.OpType == "Mul" && sq.Inputs.Length == 2 && sq.Inputs[0] == sq.Inputs[1]))
                    {
                        var stream = sq.Inputs[0];
                        if (lnCentered.Contains(stream) || !ScalesInput(consumers, n.Outputs[0], stream)) continue;
                        sites.Add(new NormSite(n.Index, "RMSNorm (decomposed)", n.Name, stream, false));
                    }
                    continue;
            }
        }
        return sites.OrderBy(s => s.NodeIndex).ToList();
    }

    /// <summary>ReduceMean output → Add(ε) → Sqrt → (Reciprocal | Div) → … a Mul or Div that reads <paramref name="x"/>.</summary>
    static bool ScalesInput(Dictionary<string, List<OnnxGraph.Node>> consumers, string mean, string x)
    {
        var frontier = new List<string> { mean };
        for (int depth = 0; depth < 5 && frontier.Count > 0; depth++)
        {
            var next = new List<string>();
            foreach (var t in frontier)
                foreach (var c in Uses(consumers, t))
                {
                    if (c.OpType is "Mul" or "Div" && c.Inputs.Contains(x)) return true;
                    if (c.OpType is "Add" or "Sqrt" or "Reciprocal" or "Div" or "Cast" or "Pow") next.AddRange(c.Outputs);
                }
            frontier = next;
        }
        return false;
    }

    /// <summary>
    /// Block outputs of a pre-norm decoder, or null with the reason when the graph is not one.
    /// </summary>
    public static (List<NormSite>? Blocks, string Why) BlockOutputs(OnnxGraph g, List<NormSite> norms)
    {
        if (norms.Count == 0) return (null, "no normalization nodes found");
        var consumers = Consumers(g);
        // residual sites: the stream is also read by a residual Add (or a fused Skip norm, which adds), or a fused Skip norm made it; the final norm's input is the last
        var residual = new List<NormSite>();
        for (int k = 0; k < norms.Count; k++)
        {
            var s = norms[k];
            bool skip = s.Kind.StartsWith("Skip", StringComparison.Ordinal);
            bool readByAdd = s.Stream != null && Uses(consumers, s.Stream).Any(c => c.OpType is "Add" or "SkipLayerNormalization" or "SkipSimplifiedLayerNormalization");
            if (skip || readByAdd || k == norms.Count - 1) residual.Add(s);
        }
        if (residual.Count < 3)
            return (null, $"{norms.Count} norm(s) found, {residual.Count} reading a residual stream");
        if (residual.Count % 2 == 0)
            return (null, $"{residual.Count} residual-stream norms found, not 2 per block plus a final norm (parallel attention/MLP blocks are not supported)");
        var blocks = new List<NormSite>();
        for (int k = 2; k < residual.Count; k += 2) blocks.Add(residual[k]);
        return (blocks, "");
    }

    static Dictionary<string, List<OnnxGraph.Node>> Consumers(OnnxGraph g)
    {
        var consumers = new Dictionary<string, List<OnnxGraph.Node>>();
        foreach (var n in g.Nodes)
            foreach (var i in n.Inputs)
            {
                if (i.Length == 0) continue;
                if (!consumers.TryGetValue(i, out var l)) consumers[i] = l = new();
                l.Add(n);
            }
        return consumers;
    }

    static IEnumerable<OnnxGraph.Node> Uses(Dictionary<string, List<OnnxGraph.Node>> consumers, string tensor) =>
        consumers.TryGetValue(tensor, out var l) ? l : Enumerable.Empty<OnnxGraph.Node>();
}
