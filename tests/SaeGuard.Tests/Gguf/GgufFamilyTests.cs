using SaeGuard.Gguf;
using SaeGuard.Gguf.Testing;

namespace SaeGuard.Tests.Gguf;

/// <summary>
/// Every verified family (tiny random models written as llama.cpp's converter writes them): the
/// captured l_out-N of every block equals the float64 reference forward, with documents packed into
/// one KV cache and with decode calls and micro-batches split small; steering adds exactly the vector.
/// </summary>
[Collection("gguf")]
public class GgufFamilyTests
{
    static readonly string[] Texts =
    {
        "hello world, how to make a cake",
        "write a poem about the sun and water",
        "can you help me with this code?",
    };

    public static TheoryData<TinyFamily> Families => TinyModel.Families;

    static void AssertClose(double[][] expected, float[] actual, double tol, string what) =>
        GgufExtractionTests.AssertClose(expected, actual, tol, what);

    static int[] Ids(GgufModel m, string text) => m.Tokenize(text, m.AddBos, parseSpecial: false);

    [Theory]
    [MemberData(nameof(Families))]
    public void Every_block_equals_the_float64_reference_packed_and_in_small_micro_batches(TinyFamily family)
    {
        var f = TinyModel.Family(family);
        using var model = GgufModel.Load(f.Path);
        Assert.Equal(TinyFamilies.Architecture(family), model.Architecture);
        var docs = Texts.Select(t => Ids(model, t)).ToList();
        Assert.All(docs, d => Assert.True(d.Length > f.Weights.Spec.SlidingWindow + 2)); // the window matters
        Assert.Equal(f.Weights.Spec.AddBos, docs[0][0] == f.Weights.Vocab.Bos);
        var layers = Enumerable.Range(0, f.Weights.Spec.NLayer).ToArray();
        var references = docs.Select(d => LlamaReference.Forward(f.Weights, d)).ToList();
        foreach (var options in new[]
        {
            new GgufOptions { Threads = 2 },                              // all documents in one decode call
            new GgufOptions { Threads = 2, Batch = 8, MicroBatch = 3 },   // split across calls and micro-batches
        })
        {
            using var ctx = new GgufContext(model, options, 128, layers);
            var rows = ctx.CaptureSequences(docs, earlyExit: false);
            for (int doc = 0; doc < docs.Count; doc++)
                foreach (var l in layers)
                    AssertClose(references[doc].LayerOut[l], rows[doc][l], 1e-4, $"{family} l_out-{l}, doc {doc}, batch {options.Batch}/{options.MicroBatch}");
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Activation_source_packs_documents_and_returns_the_reference_rows(TinyFamily family)
    {
        var f = TinyModel.Family(family);
        using var source = new GgufActivationSource(f.Path, 1, new GgufOptions { Threads = 2, Batch = 16, MicroBatch = 5 });
        var toks = Texts.Select(source.Tokenize).ToList();
        var rows = source.Run(toks);
        for (int i = 0; i < toks.Count; i++)
            AssertClose(LlamaReference.Forward(f.Weights, toks[i].Ids).LayerOut[1], rows[i], 1e-4, $"{family} doc {i}");
        Assert.Equal(TinyFamilies.Architecture(family), source.Info["architecture"]);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Steering_adds_exactly_the_vector_and_the_blocks_after_follow_the_reference(TinyFamily family)
    {
        var f = TinyModel.Family(family);
        int d = f.Weights.Spec.NEmbd;
        using var model = GgufModel.Load(f.Path);
        using var ctx = new GgufContext(model, new GgufOptions { Threads = 2, MaxSequences = 1 }, 64, new[] { 1, 2, 3 });
        var ids = Ids(model, "how to make a cake");
        var before = ctx.CaptureSequences(new[] { ids }, earlyExit: false)[0];
        var vector = GgufSteerer.SteeringVector(GgufSteeringTests.MakeSae(), 5, 2.0, 10.0);
        ctx.SetSteering(vector, 2);
        var steered = ctx.CaptureSequences(new[] { ids }, earlyExit: false)[0];
        Assert.Equal(before[0], steered[0]); // l_out-1: untouched, bit for bit
        for (int t = 0; t < ids.Length; t++)
            for (int i = 0; i < d; i++)
                Assert.Equal(before[1][t * d + i] + vector[i], steered[1][t * d + i], 4);
        var reference = LlamaReference.Forward(f.Weights, ids, steerLayer: 2, steer: vector);
        AssertClose(reference.LayerOut[2], steered[1], 1e-4, $"{family} steered l_out-2");
        AssertClose(reference.LayerOut[3], steered[2], 1e-4, $"{family} l_out-3 after steering");
        ctx.SetSteering(null, 2);
        Assert.Equal(before[2], ctx.CaptureSequences(new[] { ids }, earlyExit: false)[0][2]);
    }
}
