using SaeGuard.Eval;
using SaeGuard.Models;

namespace SaeGuard.Tests.Eval;

public class OnnxSpliceTests
{
    static readonly string[] Texts = { "how do I bake bread at home?", "tell me a joke about cats", "what is the capital of France" };

    [Fact]
    public void Suffix_graph_fed_the_hooked_layer_reproduces_the_full_model()
    {
        using var spliced = OnnxSplicedModel.Open("minilm", 3, null, 2, null);
        using var full = BuiltInModels.MiniLm(layer: 5, threads: 2); // block 5's output is last_hidden_state
        Assert.Equal("last_hidden_state", full.TensorName);
        var docs = Texts.Select(spliced.Tokenize).ToList();
        var hooked = new float[docs.Count][];
        var clean = spliced.Forward(docs, null, hooked);
        var identity = spliced.Forward(docs, (rows, _, _) => { });
        var reference = full.Run(docs);
        for (int i = 0; i < docs.Count; i++)
        {
            Assert.Equal(reference[i].Length, clean[i].Length);
            for (int j = 0; j < reference[i].Length; j++)
            {
                Assert.True(Math.Abs(reference[i][j] - clean[i][j]) <= 1e-5 * (1 + Math.Abs(reference[i][j])), $"doc {i} value {j}: {clean[i][j]} vs {reference[i][j]}");
                Assert.True(Math.Abs(identity[i][j] - clean[i][j]) <= 1e-5 * (1 + Math.Abs(clean[i][j])), $"identity splice, doc {i} value {j}");
            }
        }
        Assert.Equal(docs[0].Length * 384, hooked[0].Length);
    }

    [Fact]
    public void Splicing_zeros_equals_the_suffix_graph_fed_zeros()
    {
        using var spliced = OnnxSplicedModel.Open("minilm", 2, null, 2, null);
        var docs = Texts.Select(spliced.Tokenize).ToList();
        var zero = spliced.Forward(docs, (rows, _, _) => rows.Clear());
        var direct = spliced.RunSuffix(docs, docs.Select(d => new float[d.Length * 384]).ToList());
        var clean = spliced.Forward(docs, null);
        for (int i = 0; i < docs.Count; i++)
        {
            Assert.Equal(direct[i], zero[i]);
            Assert.True(zero[i].Zip(clean[i]).Max(p => Math.Abs(p.First - p.Second)) > 0.1);
        }
    }

    [Fact]
    public void Embedding_score_of_the_error_term_is_one_and_of_zero_ablation_is_zero()
    {
        using var spliced = OnnxSplicedModel.Open("minilm", 3, null, 2, null);
        var rng = new Random(1);
        int d = 384, m = 512;
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * 0.1)).ToArray();
        var sae = new SaeGuard.Sae.SaeModel(new SaeGuard.Sae.SaeConfig { DIn = d, DSae = m, Architecture = "topk", K = 8 }, R(d * m), new float[m], R(m * d), new float[d]);
        var docs = Texts.Select((t, i) => new EvalDoc(spliced.Tokenize(t), -1)).ToList();
        var run = SpliceEvaluator.Run(spliced, new[] { sae }, docs, new EvalOptions());
        Assert.True(run.Saes[0].WithSaeAndError.Cos.Mean > 1 - 1e-6);
        Assert.True(run.Zero.Cos.Mean < 0.95);
        Assert.Equal(docs.Count, run.Saes[0].WithSae.Cos.Count);
        Assert.Equal(docs.Sum(x => x.Tokens.Length - 2), run.Saes[0].Rows.Rows); // [CLS] and [SEP] are not spliced
    }
}
