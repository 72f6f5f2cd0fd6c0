using Microsoft.ML.OnnxRuntime;
using SaeGuard.Models;

namespace SaeGuard.Tests.Models;

/// <summary>Capturing block N runs only the nodes it depends on, and the rows stay those of the full graph.</summary>
public class GraphPruningTests
{
    static readonly OnnxGraph Full = new(BuiltInModels.MiniLmOnnx);

    static HashSet<string> Ancestors(OnnxGraph g, string tensor)
    {
        var producer = g.Nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).ToDictionary(x => x.o, x => x.n);
        var seen = new HashSet<string>();
        var todo = new Stack<string>(new[] { tensor });
        while (todo.Count > 0)
            if (producer.TryGetValue(todo.Pop(), out var n) && seen.Add(n.Name + "#" + n.Index))
                foreach (var i in n.Inputs.Where(i => i.Length > 0)) todo.Push(i);
        return g.Nodes.Where(n => seen.Contains(n.Name + "#" + n.Index)).Select(n => n.OpType + ":" + string.Join(",", n.Outputs)).ToHashSet();
    }

    [Fact]
    public void Layer_3_keeps_exactly_the_nodes_it_depends_on_and_one_output()
    {
        var pruned = new OnnxGraph(Full.PrunedTo("662"));
        Assert.Equal(new[] { "662" }, pruned.Outputs);
        var kept = pruned.Nodes.Select(n => n.OpType + ":" + string.Join(",", n.Outputs)).ToHashSet();
        Assert.Equal(Ancestors(Full, "662"), kept);
        // blocks 4 and 5 are gone: fewer than 5/6 of the nodes remain, and no node reads layer 3's output
        Assert.True(pruned.Nodes.Count < Full.Nodes.Count * 5 / 6, $"{pruned.Nodes.Count} of {Full.Nodes.Count} nodes kept");
        Assert.DoesNotContain(pruned.Nodes, n => n.Inputs.Contains("662"));
        Assert.Equal(Full.Inputs, pruned.Inputs);
        // block 5's weights go too (ONNX Runtime would warn about each unused initializer)
        var read = pruned.Nodes.SelectMany(n => n.Inputs).ToHashSet();
        Assert.All(pruned.InitializerNames, name => Assert.Contains(name, read));
        Assert.True(pruned.InitializerNames.Count < Full.InitializerNames.Count);
    }

    [Fact]
    public void The_last_layer_keeps_the_whole_graph_and_its_declared_output()
    {
        var pruned = new OnnxGraph(Full.PrunedTo("last_hidden_state"));
        Assert.Equal(new[] { "last_hidden_state" }, pruned.Outputs);
        Assert.Equal(Ancestors(Full, "last_hidden_state").Count, pruned.Nodes.Count);
    }

    [Fact]
    public void Pruned_graph_gives_the_rows_of_the_whole_graph()
    {
        using var pruned = BuiltInModels.MiniLm(3, 2);
        var t = pruned.Tokenize("Pruning must not change a single value.");
        var ours = pruned.Run(new[] { t })[0];
        // An independent session on the whole graph with layer 3's output appended (the old way).
        using var whole = new InferenceSession(Full.WithExtraOutputs(new[] { "662" }));
        var shape = new long[] { 1, t.Length };
        using var ids = OrtValue.CreateTensorValueFromMemory(t.Ids.Select(i => (long)i).ToArray(), shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, t.Length).ToArray(), shape);
        using var types = OrtValue.CreateTensorValueFromMemory(new long[t.Length], shape);
        using var runOptions = new RunOptions();
        using var res = whole.Run(runOptions, new[] { "input_ids", "attention_mask", "token_type_ids" }, new[] { ids, mask, types }, new[] { "662", "last_hidden_state" });
        var expected = res[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(expected.Length, ours.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - ours[i]) < 1e-5, $"value {i}: {expected[i]} vs {ours[i]}");
    }
}
