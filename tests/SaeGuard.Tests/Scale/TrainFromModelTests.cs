using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.IO;
using SaeGuard.Models;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Scale;

public class TrainFromModelTests
{
    static string[] Corpus => new[]
    {
        "--input", TestPaths.SharedData("malicious_instruct", "MaliciousInstruct.txt"), "--max-docs", "60", "--max-length", "32", "--layer", "2",
    };

    static IEnumerable<DocRecord> Docs() => CorpusReader.Read(TestPaths.SharedData("malicious_instruct", "MaliciousInstruct.txt")).Take(60);

    [Fact]
    public void Training_from_the_model_equals_training_from_its_dump_when_the_buffer_holds_the_corpus()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliHarness.Run(new[] { "extract", "--out", tmp["acts"], "--model", "minilm", "--dtype", "f32" }.Concat(Corpus).ToArray());
        Assert.True(code == 0, err);
        Assert.Single(DumpMeta.Load(tmp["acts"]).Shards);
        var common = new[] { "--expansion", "2", "--k", "8", "--batch", "128", "--seed", "11", "--tokens", "3000" };
        (code, _, err) = CliHarness.Run(new[] { "train", "--acts", tmp["acts"], "--out", tmp["from-dump"] }.Concat(common).ToArray());
        Assert.True(code == 0, err);
        // 60 prompts × ≤ 32 tokens < 20 batches × 128 rows: the buffer holds the whole corpus
        (code, _, err) = CliHarness.Run(new[] { "train", "--model", "minilm", "--out", tmp["from-model"], "--buffer-batches", "20" }.Concat(Corpus).Concat(common).ToArray());
        Assert.True(code == 0, err);
        Assert.False(File.Exists(Path.Combine(tmp["from-model"], "meta.json")));
        using var a = new SafeTensorsReader(Path.Combine(tmp["from-dump"], "sae_weights.safetensors"));
        using var b = new SafeTensorsReader(Path.Combine(tmp["from-model"], "sae_weights.safetensors"));
        foreach (var name in new[] { "W_enc", "b_enc", "W_dec", "b_dec" })
            Assert.Equal(a.ReadFloats(name), b.ReadFloats(name));
    }

    [Fact]
    public void Small_buffer_yields_every_row_once_and_a_resumed_epoch_continues_exactly()
    {
        using var source = BuiltInModels.MiniLm(layer: 1, maxLength: 24);
        var store = new ModelActivationStore(source, Docs, new ModelStoreOptions { BufferRows = 200 });
        Assert.Equal(60, store.Docs);
        Assert.Equal(200, store.BufferRows);
        var full = Flatten(store.Epoch(7, 0)).ToList();
        Assert.Equal(Enumerable.Range(0, (int)store.Rows).Select(i => (long)i), full.Select(r => r.Row).Order());
        Assert.NotEqual(full.Select(r => r.Row).Take(50), Enumerable.Range(0, 50).Select(i => (long)i));   // mixed, not in corpus order

        // rows equal the model's own output for that document and position
        var byRow = new Dictionary<long, float[]>();
        foreach (var d in DocumentActivations.Stream(source, Docs()))
            for (int t = 0; t < d.Count; t++) byRow[d.FirstRow + t] = d.Acts.AsSpan(t * source.Width, source.Width).ToArray();
        Assert.All(full.Take(300), r => Assert.Equal(byRow[r.Row], r.Values));

        foreach (long skip in new long[] { 100, 517, store.Rows - 3 })
        {
            var resumed = Flatten(store.Epoch(7, 0, skip)).Skip((int)skip).ToList();
            Assert.Equal(full.Skip((int)skip).Select(r => r.Row), resumed.Select(r => r.Row));
            Assert.Equal(full.Skip((int)skip).Select(r => r.Values), resumed.Select(r => r.Values));
        }
    }

    static IEnumerable<(long Row, float[] Values)> Flatten(IEnumerable<EpochChunk> chunks)
    {
        foreach (var c in chunks)
            foreach (var i in c.Order)
                yield return c.Block.Rows == 0 ? (-1, Array.Empty<float>()) : (c.Block.RowIds[i], c.Block.Data.AsSpan(i * c.Block.D, c.Block.D).ToArray());
    }

    [Fact]
    public void Interrupted_training_from_the_model_resumes_to_the_same_sae()
    {
        using var source = BuiltInModels.MiniLm(layer: 1, maxLength: 24);
        var store = new ModelActivationStore(source, Docs, new ModelStoreOptions { BufferRows = 256 });
        var o = new SaeTrainOptions { Expansion = 2, K = 8, BatchSize = 64, Seed = 4, Tokens = 2048, CheckpointEvery = 640 };
        using var tmp = new TempDir();
        var whole = SaeTrainer.Run(store, o, tmp["whole"]);
        var first = SaeTrainer.Run(store, o with { StopAfterTokens = 640 }, tmp["resumed"]);
        Assert.False(first.Completed);
        var rest = SaeTrainer.Run(store, o, tmp["resumed"], resume: true);
        Assert.True(rest.Completed);
        Assert.Equal(whole.Model.WDec, rest.Model.WDec);
        Assert.Equal(whole.Model.BDec, rest.Model.BDec);
    }
}
