using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>
/// The transformer blocks of an ONNX graph, found by structure: a pre-norm decoder
/// (<see cref="DecoderBlockLocator"/>) or a post-LN encoder (<see cref="LayerNormLocator"/>), with the
/// tensor holding the residual stream after each block (null where a fused node hides it).
/// </summary>
public sealed record OnnxBlocks(string Architecture, string NormKind, IReadOnlyList<string?> Tensors, IReadOnlyList<string> NodeNames)
{
    public int Count => Tensors.Count;
    public bool IsDecoder => Architecture.StartsWith("decoder", StringComparison.Ordinal);

    /// <summary>The blocks, or null with what was found when the graph has neither shape.</summary>
    public static (OnnxBlocks? Blocks, string Found) TryLocate(OnnxGraph g)
    {
        var norms = DecoderBlockLocator.FindNorms(g);
        var (dec, why) = DecoderBlockLocator.BlockOutputs(g, norms);
        if (dec != null)
        {
            var kinds = string.Join(" + ", norms.Select(n => n.Kind).Distinct());
            return (new OnnxBlocks("decoder (pre-norm)", kinds, dec.Select(s => s.Stream).ToList(), dec.Select(s => s.NodeName).ToList()), "");
        }
        var lns = LayerNormLocator.Find(g);
        var enc = LayerNormLocator.BlockOutputs(lns);
        if (enc != null)
            return (new OnnxBlocks("encoder (post-LN)", "LayerNorm", enc.Select(s => (string?)s.Output).ToList(), enc.Select(s => g.Nodes[s.NodeIndex].Name).ToList()), "");
        return (null, $"{why}; {lns.Count} LayerNorm(s) for a post-LN encoder");
    }

    public static OnnxBlocks Locate(OnnxGraph g, string modelName)
    {
        var (b, found) = TryLocate(g);
        return b ?? throw new UserError(
            $"Could not find the transformer blocks of '{modelName}' by graph structure: looked for {DecoderBlockLocator.LookedFor}, " +
            $"and for post-LayerNorm encoder blocks (1 + 2×layers LayerNorms); {found}. Name the tensor to capture with --hook-tensor.");
    }

    /// <summary>The captured tensor of <paramref name="layer"/>, checked.</summary>
    public string TensorOf(int layer, string modelName)
    {
        if (layer < 0 || layer >= Count)
            throw new UserError($"Layer {layer} is out of range for '{modelName}': it has {Count} layers (0–{Count - 1}).");
        return Tensors[layer] ?? throw new UserError(
            $"Layer {layer} of '{modelName}' ends in fused node '{NodeNames[layer]}', which does not output its residual sum (output 3); name a tensor with --hook-tensor.");
    }

    /// <summary>Lines for <c>extract --list-layers</c>.</summary>
    public IEnumerable<string> Describe(string modelName)
    {
        yield return $"{modelName}: {Architecture}, {NormKind}, layers 0–{Count - 1} ({Count})";
        for (int i = 0; i < Count; i++)
            yield return $"  layer {i}: {Tensors[i] ?? "(not exposed by fused node " + NodeNames[i] + ")"}";
    }
}
