using System.Buffers;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Memory;
using Apache.Arrow.Types;
using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Datasets saved by Hugging Face <c>datasets</c>: a <c>save_to_disk</c> folder (<c>state.json</c> listing
/// <c>data-*.arrow</c> files, <c>dataset_info.json</c> with the features) or one <c>.arrow</c> file, in the
/// Arrow IPC stream format (the file format is read too). Read one record batch at a time. The text
/// column holds strings, or it is a chat <c>messages</c> column (list of {role, content}); ClassLabel
/// integers are mapped to their names from <c>dataset_info.json</c>.
/// </summary>
public static class ArrowDatasetFormat
{
    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        var (files, classNames) = Layout(path);
        long row = 0;
        foreach (var file in files)
        {
            foreach (var batch in Batches(file))
            {
                using (batch)
                {
                    var names = batch.Schema.FieldsList.Select(f => f.Name).ToList();
                    bool chat = o.TextColumn == null && !names.Any(IsTextGuess) && names.Contains("messages");
                    var textName = chat ? "messages" : CorpusReader.ResolveColumn(names, o.TextColumn, file, "text", true)!;
                    var labelName = CorpusReader.ResolveColumn(names, o.LabelColumn, file, "label", false);
                    var catName = CorpusReader.ResolveColumn(names, o.CategoryColumn, file, "category", false);
                    var textCol = batch.Column(textName);
                    var labels = labelName != null ? Strings(batch.Column(labelName), labelName, classNames, file) : null;
                    var cats = catName != null ? Strings(batch.Column(catName), catName, classNames, file) : null;
                    var texts = textCol is ListArray list ? null : Strings(textCol, textName, null, file);
                    var mode = Conversation.ParseMode(o.Turns);
                    for (int i = 0; i < batch.Length; i++)
                    {
                        row++;
                        if (texts != null)
                        {
                            if (!string.IsNullOrWhiteSpace(texts[i])) yield return CorpusReader.Make(file, row, texts[i]!, labels?[i], cats?[i], o);
                            continue;
                        }
                        foreach (var text in Conversation.Documents(Turns((ListArray)textCol, i, textName, file), mode))
                            yield return CorpusReader.Make(file, row, text, labels?[i], cats?[i], o);
                    }
                }
            }
        }
    }

    /// <summary>Whether <paramref name="path"/> is a save_to_disk folder or an .arrow file.</summary>
    public static bool Matches(string path) =>
        (Directory.Exists(path) && (File.Exists(Path.Combine(path, "state.json")) || File.Exists(Path.Combine(path, "dataset_dict.json"))))
        || (File.Exists(path) && path.EndsWith(".arrow", StringComparison.OrdinalIgnoreCase));

    static bool IsTextGuess(string name) => name is "text" or "prompt" or "instruction" or "question" or "content" or "goal" or "query";

    static (List<string> Files, Dictionary<string, string[]> ClassNames) Layout(string path)
    {
        if (File.Exists(path)) return (new List<string> { path }, ClassNamesOf(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "dataset_info.json")));
        if (File.Exists(Path.Combine(path, "dataset_dict.json")))
        {
            var splits = Directory.GetDirectories(path).Where(d => File.Exists(Path.Combine(d, "state.json"))).Select(Path.GetFileName).ToList();
            throw new UserError($"'{path}' is a DatasetDict (dataset_dict.json); point --input at one split folder: {string.Join(", ", splits.Select(s => Path.Combine(path, s!)))}.");
        }
        var state = Path.Combine(path, "state.json");
        var files = new List<string>();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(state));
            if (!doc.RootElement.TryGetProperty("_data_files", out var df) || df.ValueKind != JsonValueKind.Array)
                throw new UserError($"'{state}': no '_data_files' list; is this a folder written by datasets' save_to_disk?");
            foreach (var f in df.EnumerateArray())
            {
                var name = f.ValueKind == JsonValueKind.Object && f.TryGetProperty("filename", out var fn) && fn.ValueKind == JsonValueKind.String ? fn.GetString() : null;
                if (string.IsNullOrEmpty(name) || name.Contains("..") || Path.IsPathRooted(name) || name.Contains('/') || name.Contains('\\'))
                    throw new UserError($"'{state}': each '_data_files' entry needs a plain 'filename' inside the folder, got {f.GetRawText()}.");
                var full = Path.Combine(path, name);
                if (!File.Exists(full)) throw new UserError($"'{state}' lists '{name}', which is not in '{path}'.");
                files.Add(full);
            }
        }
        catch (JsonException e) { throw new UserError($"'{state}' is not valid JSON ({e.Message})."); }
        if (files.Count == 0) throw new UserError($"'{state}' lists no data files.");
        return (files, ClassNamesOf(Path.Combine(path, "dataset_info.json")));
    }

    /// <summary>ClassLabel names per column from dataset_info.json ("features": {"label": {"names": [...], "_type": "ClassLabel"}}).</summary>
    static Dictionary<string, string[]> ClassNamesOf(string infoPath)
    {
        var result = new Dictionary<string, string[]>();
        if (!File.Exists(infoPath)) return result;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(infoPath));
            if (!doc.RootElement.TryGetProperty("features", out var features) || features.ValueKind != JsonValueKind.Object) return result;
            foreach (var f in features.EnumerateObject())
                if (f.Value.ValueKind == JsonValueKind.Object && f.Value.TryGetProperty("names", out var names) && names.ValueKind == JsonValueKind.Array)
                    result[f.Name] = names.EnumerateArray().Select(n => n.ValueKind == JsonValueKind.String ? n.GetString()! : n.GetRawText()).ToArray();
        }
        catch (JsonException e) { throw new UserError($"'{infoPath}' is not valid JSON ({e.Message})."); }
        return result;
    }

    static IEnumerable<RecordBatch> Batches(string file)
    {
        var stream = File.OpenRead(file);
        var allocator = new BoundedAllocator(stream.Length, file);
        ArrowStreamReader reader;
        try
        {
            Span<byte> magic = stackalloc byte[6];
            int n = stream.Read(magic);
            stream.Position = 0;
            bool fileFormat = n == 6 && magic.SequenceEqual("ARROW1"u8);
            reader = fileFormat ? new ArrowFileReader(stream, allocator) : new ArrowStreamReader(stream, allocator);
        }
        catch { stream.Dispose(); throw; }
        using (stream)
        using (reader)
        {
            while (true)
            {
                RecordBatch? batch;
                try { batch = reader.ReadNextRecordBatch(); }
                catch (Exception e) when (e is not UserError and not OutOfMemoryException)
                {
                    throw new UserError($"'{file}': not a readable Arrow IPC stream or file ({e.GetType().Name}: {e.Message}).");
                }
                if (batch == null) yield break;
                yield return batch;
            }
        }
    }

    static string?[] Strings(IArrowArray col, string name, Dictionary<string, string[]>? classNames, string file)
    {
        var n = col.Length;
        var result = new string?[n];
        switch (col)
        {
            case StringArray s: for (int i = 0; i < n; i++) result[i] = s.GetString(i); break;
            case LargeStringArray s: for (int i = 0; i < n; i++) result[i] = s.GetString(i); break;
            case BooleanArray b: for (int i = 0; i < n; i++) result[i] = b.GetValue(i) is { } v ? (v ? "true" : "false") : null; break;
            case DictionaryArray d:
                var dict = Strings(d.Dictionary, name, null, file);
                var idx = Integers(d.Indices, name, file);
                for (int i = 0; i < n; i++) result[i] = idx[i] is { } k && k >= 0 && k < dict.Length ? dict[k] : null;
                break;
            default:
                var ints = Integers(col, name, file);
                var names = classNames != null && classNames.TryGetValue(name, out var cn) ? cn : null;
                for (int i = 0; i < n; i++)
                    result[i] = ints[i] is not { } k ? null
                        : names == null ? k.ToString(System.Globalization.CultureInfo.InvariantCulture)
                        : k >= 0 && k < names.Length ? names[k]
                        : throw new UserError($"'{file}', row {i + 1}: column '{name}' holds class {k}, outside its {names.Length} ClassLabel names.");
                break;
        }
        return result;
    }

    static long?[] Integers(IArrowArray col, string name, string file)
    {
        var n = col.Length;
        var r = new long?[n];
        switch (col)
        {
            case Int64Array a: for (int i = 0; i < n; i++) r[i] = a.GetValue(i); break;
            case Int32Array a: for (int i = 0; i < n; i++) r[i] = a.GetValue(i); break;
            case Int16Array a: for (int i = 0; i < n; i++) r[i] = a.GetValue(i); break;
            case Int8Array a: for (int i = 0; i < n; i++) r[i] = a.GetValue(i); break;
            case UInt8Array a: for (int i = 0; i < n; i++) r[i] = a.GetValue(i); break;
            default:
                throw new UserError($"'{file}': column '{name}' holds {col.Data.DataType.Name} values; expected strings, booleans or integer class labels.");
        }
        return r;
    }

    static List<Turn> Turns(ListArray messages, int row, string name, string file)
    {
        var turns = new List<Turn>();
        if (messages.IsNull(row)) return turns;
        if (messages.Values is not StructArray items || items.Data.DataType is not StructType type)
            throw new UserError($"'{file}': column '{name}' should be a list of {{role, content}} structs, found list of {messages.Values.Data.DataType.Name}.");
        int roleIdx = type.GetFieldIndex("role"), contentIdx = type.GetFieldIndex("content");
        if (roleIdx < 0 || contentIdx < 0)
            throw new UserError($"'{file}': column '{name}' items have fields {string.Join(", ", type.Fields.Select(f => f.Name))}; expected role and content.");
        var roles = Strings(items.Fields[roleIdx], "role", null, file);
        var contents = Strings(items.Fields[contentIdx], "content", null, file);
        int start = messages.ValueOffsets[row], end = messages.ValueOffsets[row + 1];
        if (start < 0 || end > roles.Length || end < start)
            throw new UserError($"'{file}', row {row + 1}: column '{name}' has list offsets {start}..{end} outside its {roles.Length} items.");
        for (int j = start; j < end; j++) turns.Add(new Turn(HfMessagesFormat.Role(roles[j] ?? ""), contents[j] ?? ""));
        return turns;
    }

    /// <summary>Refuses a buffer larger than the file: a length field cannot make the reader allocate more than the data it has.</summary>
    sealed class BoundedAllocator(long fileBytes, string file) : NativeMemoryAllocator
    {
        protected override IMemoryOwner<byte> AllocateInternal(int length, out int bytesAllocated)
        {
            if (length < 0 || length > fileBytes + 64)
                throw new UserError($"'{file}': an Arrow message asks for {length:N0} bytes, more than the file's {fileBytes:N0}; the file is damaged or hostile.");
            return base.AllocateInternal(length, out bytesAllocated);
        }
    }
}
