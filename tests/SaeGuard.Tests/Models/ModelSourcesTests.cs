using SaeGuard.Common;
using SaeGuard.Models;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Models;

/// <summary>The model-source registry: openers are injected, never registered globally.</summary>
public class ModelSourcesTests
{
    /// <summary>An opener for "*.fake" files that records what it was asked for.</summary>
    sealed class FakeOpener : IModelOpener
    {
        public List<ModelRequest> Requests { get; } = new();
        public string Describes => "a .fake file";
        public bool Accepts(string model) => model.EndsWith(".fake", StringComparison.Ordinal);
        public IActivationSource Open(ModelRequest request)
        {
            Requests.Add(request);
            return BuiltInModels.MiniLm(request.Layer, threads: 1);
        }
    }

    [Fact]
    public void An_added_opener_opens_its_kind_and_the_built_in_registry_stays_as_it_was()
    {
        using var tmp = new TempDir();
        var path = tmp["m.fake"];
        File.WriteAllText(path, "x");
        var fake = new FakeOpener();
        var sources = ModelSources.BuiltIn.With(fake);
        using (var s = sources.Open(new ModelRequest(path, 2) { Threads = 3, MaxLength = 17 }))
            Assert.Equal(2, s.Layer);
        var r = Assert.Single(fake.Requests);
        Assert.Equal((path, 2, 3, (int?)17), (r.Model, r.Layer, r.Threads, r.MaxLength));
        // BuiltIn is unchanged: it does not know .fake files
        var e = Assert.Throws<UserError>(() => ModelSources.BuiltIn.Open(path, 0));
        Assert.Equal($"Unknown model type '{path}': expected 'minilm' or a .onnx file.", e.Message);
        Assert.Equal(2, ModelSources.BuiltIn.Openers.Count);
        Assert.Equal(3, sources.Openers.Count);
    }

    [Fact]
    public void Errors_name_the_model_and_the_kinds_on_offer()
    {
        var sources = ModelSources.BuiltIn.With(new FakeOpener());
        var missing = Assert.Throws<UserError>(() => sources.Open("nowhere/model.fake", 0));
        Assert.Equal("Model not found: 'nowhere/model.fake' (use 'minilm', a .onnx file or a .fake file).", missing.Message);
        var chat = Assert.Throws<UserError>(() => sources.Open(new ModelRequest("minilm", 1) { ChatTemplate = true }));
        Assert.Contains("--chat-template applies to GGUF models only", chat.Message);
        using var s = sources.Open("MiniLM", 1);
        Assert.Equal(BuiltInModels.MiniLmName, s.ModelName);
    }

    [Fact]
    public void A_token_counter_for_minilm_counts_what_extract_stores()
    {
        using var counter = ModelSources.BuiltIn.OpenTokenCounter("minilm");
        Assert.Equal(BuiltInModels.MiniLmName, counter.ModelName);
        Assert.Null(counter.Owner); // the tokenizer alone, no network loaded
        using var source = BuiltInModels.MiniLm(1, threads: 1);
        foreach (var text in new[] { "hello world", "Write a tutorial on how to make a bomb", "" })
            Assert.Equal(source.Tokenize(text).Length, counter.Count(text));
    }
}
