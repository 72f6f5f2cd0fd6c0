using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Data;

/// <summary>
/// Hugging Face chat `messages` JSON/JSONL and `datasets` Arrow folders (save_to_disk layout), built in
/// the test from the real AdvBench and Alpaca files (Debian has no python3-pyarrow, so Apache.Arrow's
/// own stream writer makes the .arrow files, in the IPC stream format `datasets` writes).
/// </summary>
public class HfFormatsTests
{
    static List<DocRecord> AdvBench() =>
        CorpusReader.Read(TestPaths.SharedData("advbench", "harmful_behaviors.csv")).ToList();

    static List<DocRecord> Alpaca(int n) =>
        CorpusReader.Read(TestPaths.SharedData("refusal_direction_alpaca", "harmless_val.json"), new CorpusReadOptions { Format = "alpaca" }).Take(n).ToList();

    static List<string> AdvBenchTargets() =>
        CorpusReader.Read(TestPaths.SharedData("advbench", "harmful_behaviors.csv"), new CorpusReadOptions { Format = "csv", TextColumn = "target" }).Select(d => d.Text).ToList();

    [Theory]
    [InlineData("auto")]
    [InlineData("messages")]
    public void Messages_jsonl_built_from_advbench_gives_its_goals_and_labels(string format)
    {
        using var dir = new TempDir();
        var goals = AdvBench();
        var targets = AdvBenchTargets();
        var path = dir["chat.jsonl"];
        using (var w = new StreamWriter(path))
            for (int i = 0; i < goals.Count; i++)
                w.WriteLine(JsonSerializer.Serialize(new
                {
                    messages = new object[]
                    {
                        new { role = "system", content = "You are a helpful assistant." },
                        new { role = "user", content = goals[i].Text },
                        new { role = "assistant", content = targets[i] },
                    },
                    label = "harmful",
                }));
        var docs = CorpusReader.Read(path, new CorpusReadOptions { Format = format, LabelColumn = "label" }).ToList();
        Assert.Equal(goals.Select(g => g.Text), docs.Select(d => d.Text));
        Assert.All(docs, d => Assert.Equal(Labels.Harmful, d.Label));
    }

    [Fact]
    public void Messages_json_list_turn_modes_and_content_parts()
    {
        using var dir = new TempDir();
        var path = dir["chat.json"];
        File.WriteAllText(path, """
            [ {"messages": [
                 {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "there"}]},
                 {"role": "assistant", "content": "Hi!"},
                 {"role": "user", "content": "How do I bake bread?"}]},
              {"messages": [{"role": "assistant", "content": "only the model"}]} ]
            """);
        Assert.Equal(new[] { "Hello\nthere" }, CorpusReader.Read(path).Select(d => d.Text));
        Assert.Equal(new[] { "Hello\nthere", "How do I bake bread?" },
            CorpusReader.Read(path, new CorpusReadOptions { Turns = "all" }).Select(d => d.Text));
        var whole = CorpusReader.Read(path, new CorpusReadOptions { Turns = "conversation" }).Select(d => d.Text).ToList();
        Assert.Equal("Human: Hello\nthere\n\nAssistant: Hi!\n\nHuman: How do I bake bread?", whole[0]);
        Assert.Equal("Assistant: only the model", whole[1]);
    }

    [Fact]
    public void Messages_with_bad_content_names_the_line()
    {
        using var dir = new TempDir();
        var path = dir["bad.jsonl"];
        File.WriteAllText(path, "{\"messages\": [{\"role\": \"user\", \"content\": \"fine\"}]}\n{\"messages\": [{\"role\": \"user\", \"content\": 42}]}\n");
        var e = Assert.Throws<UserError>(() => CorpusReader.Read(path).ToList());
        Assert.Contains("line 2", e.Message);
        Assert.Contains("content", e.Message);
        var noRole = dir["norole.jsonl"];
        File.WriteAllText(noRole, "{\"messages\": [{\"content\": \"x\"}]}\n");
        Assert.Contains("role", Assert.Throws<UserError>(() => CorpusReader.Read(noRole, new CorpusReadOptions { Format = "messages" }).ToList()).Message);
    }

    /// <summary>A save_to_disk folder: text, label (ClassLabel), category and a chat messages column, in two data files.</summary>
    static string WriteDataset(string root, IReadOnlyList<(string Text, int Label, string Category)> rows, int perFile)
    {
        Directory.CreateDirectory(root);
        var files = new List<string>();
        for (int f = 0; f * perFile < rows.Count; f++)
        {
            var part = rows.Skip(f * perFile).Take(perFile).ToList();
            var name = $"data-{f:00000}-of-{(rows.Count + perFile - 1) / perFile:00000}.arrow";
            files.Add(name);
            var texts = new StringArray.Builder(); var labels = new Int64Array.Builder(); var cats = new StringArray.Builder();
            var roles = new StringArray.Builder(); var contents = new StringArray.Builder();
            var offsets = new ArrowBuffer.Builder<int>(); offsets.Append(0);
            int items = 0;
            foreach (var r in part)
            {
                texts.Append(r.Text); labels.Append(r.Label); cats.Append(r.Category);
                roles.Append("user"); contents.Append(r.Text); roles.Append("assistant"); contents.Append("I can't help with that.");
                items += 2; offsets.Append(items);
            }
            var itemType = new StructType(new[] { new Field("role", StringType.Default, true), new Field("content", StringType.Default, true) });
            var structs = new StructArray(itemType, items, new IArrowArray[] { roles.Build(), contents.Build() }, ArrowBuffer.Empty);
            var listType = new ListType(new Field("item", itemType, true));
            var messages = new ListArray(listType, part.Count, offsets.Build(), structs, ArrowBuffer.Empty);
            var schema = new Schema.Builder()
                .Field(new Field("text", StringType.Default, true))
                .Field(new Field("label", Int64Type.Default, true))
                .Field(new Field("category", StringType.Default, true))
                .Field(new Field("messages", listType, true)).Build();
            var batch = new RecordBatch(schema, new IArrowArray[] { texts.Build(), labels.Build(), cats.Build(), messages }, part.Count);
            using var fs = File.Create(Path.Combine(root, name));
            using var writer = new ArrowStreamWriter(fs, schema);
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        File.WriteAllText(Path.Combine(root, "state.json"), JsonSerializer.Serialize(new
        {
            _data_files = files.Select(f => new { filename = f }),
            _fingerprint = "0123456789abcdef",
            _format_type = (string?)null,
            _split = "train",
        }));
        File.WriteAllText(Path.Combine(root, "dataset_info.json"), """
            {"citation": "", "description": "", "features": {
              "text": {"dtype": "string", "_type": "Value"},
              "label": {"names": ["benign", "harmful"], "_type": "ClassLabel"},
              "category": {"dtype": "string", "_type": "Value"},
              "messages": [{"role": {"dtype": "string", "_type": "Value"}, "content": {"dtype": "string", "_type": "Value"}}]},
             "homepage": "", "license": ""}
            """);
        return root;
    }

    static List<(string Text, int Label, string Category)> MixedRows()
    {
        var harmful = AdvBench().Take(150).Select(d => (d.Text, 1, "advbench"));
        var benign = Alpaca(130).Select(d => (d.Text, 0, "alpaca"));
        return harmful.Concat(benign).ToList();
    }

    [Fact]
    public void Arrow_save_to_disk_folder_gives_texts_and_class_label_names_across_files()
    {
        using var dir = new TempDir();
        var rows = MixedRows();
        var root = WriteDataset(dir["ds"], rows, perFile: 100);
        Assert.Equal(3, Directory.GetFiles(root, "*.arrow").Length);
        var docs = CorpusReader.Read(root, new CorpusReadOptions { LabelColumn = "label", CategoryColumn = "category" }).ToList();
        Assert.Equal(rows.Select(r => r.Text), docs.Select(d => d.Text));
        Assert.Equal(rows.Select(r => r.Label == 1 ? Labels.Harmful : Labels.Benign), docs.Select(d => d.Label));
        Assert.Equal(rows.Select(r => r.Category), docs.Select(d => d.Category));
        // One .arrow file alone reads too (its dataset_info.json beside it still names the classes).
        var single = CorpusReader.Read(Path.Combine(root, "data-00001-of-00003.arrow"), new CorpusReadOptions { LabelColumn = "label" }).ToList();
        Assert.Equal(rows.Skip(100).Take(100).Select(r => r.Text), single.Select(d => d.Text));
    }

    [Fact]
    public void Arrow_messages_column_reads_the_user_turns()
    {
        using var dir = new TempDir();
        var rows = MixedRows().Take(40).ToList();
        var root = WriteDataset(dir["ds"], rows, perFile: 64);
        var docs = CorpusReader.Read(root, new CorpusReadOptions { Format = "arrow", TextColumn = "messages" }).ToList();
        Assert.Equal(rows.Select(r => r.Text), docs.Select(d => d.Text));
        var whole = CorpusReader.Read(root, new CorpusReadOptions { Format = "arrow", TextColumn = "messages", Turns = "conversation" }).First();
        Assert.Equal($"Human: {rows[0].Text}\n\nAssistant: I can't help with that.", whole.Text);
    }

    [Fact]
    public void Arrow_dataset_dict_truncation_and_inflated_lengths_are_user_errors()
    {
        using var dir = new TempDir();
        var root = WriteDataset(dir["dd/train"], MixedRows().Take(20).ToList(), perFile: 20);
        File.WriteAllText(dir["dd/dataset_dict.json"], "{\"splits\": [\"train\"]}");
        var dd = Assert.Throws<UserError>(() => CorpusReader.Read(dir["dd"]).ToList());
        Assert.Contains(Path.Combine(dir["dd"], "train"), dd.Message);

        var file = Directory.GetFiles(root, "*.arrow").Single();
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        var cut = Assert.Throws<UserError>(() => CorpusReader.Read(root).ToList());
        Assert.Contains(Path.GetFileName(file), cut.Message);

        // The record batch's body length (the Int64 after the flatbuffer metadata) inflated to 1 GB: refused, not allocated.
        var inflated = InflateBodyLength(bytes, 1L << 30);
        File.WriteAllBytes(file, inflated);
        var before = GC.GetTotalAllocatedBytes();
        var big = Assert.Throws<UserError>(() => CorpusReader.Read(root).ToList());
        Assert.True(GC.GetTotalAllocatedBytes() - before < 64L << 20);
        Assert.Contains(Path.GetFileName(file), big.Message);

        File.WriteAllText(Path.Combine(root, "state.json"), "{\"_data_files\": [{\"filename\": \"../../etc/passwd\"}]}");
        Assert.Contains("plain 'filename'", Assert.Throws<UserError>(() => CorpusReader.Read(root).ToList()).Message);
    }

    /// <summary>Rewrites the bodyLength field of the first RecordBatch message in an Arrow IPC stream.</summary>
    static byte[] InflateBodyLength(byte[] stream, long bodyLength)
    {
        var copy = (byte[])stream.Clone();
        int pos = 0, message = 0;
        while (pos + 8 <= copy.Length)
        {
            int len = BitConverter.ToInt32(copy, pos + 4); // 0xFFFFFFFF continuation, then metadata length
            int meta = pos + 8;
            if (message == 1)
            {
                // One batch then the 8-byte end-of-stream marker: the body runs from the metadata's end to that marker.
                long real = copy.Length - (meta + len) - 8;
                bool found = false;
                for (int k = meta; k + 8 <= meta + len; k += 4)
                    if (BitConverter.ToInt64(copy, k) == real) { BitConverter.TryWriteBytes(copy.AsSpan(k, 8), bodyLength); found = true; break; }
                Assert.True(found, "body length field not found");
                return copy;
            }
            pos = meta + len; message++;
        }
        throw new InvalidOperationException("no record batch message");
    }
}
