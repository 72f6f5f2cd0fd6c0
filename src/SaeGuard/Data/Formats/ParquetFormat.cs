using System.Globalization;
using Parquet;
using Parquet.Schema;
using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Parquet files (openwebtext-style: a <c>text</c> column), read one row group at a time. The text
/// column must hold strings; label and category columns may hold strings, integers or booleans.
/// </summary>
public static class ParquetFormat
{
    /// <summary>
    /// The documents of a Parquet file, read on a worker thread under a wall-clock budget
    /// (0.5 s + 1 s per MB, counted after the library was compiled once by <see cref="WarmUp"/>):
    /// Parquet.Net loops forever on some damaged files, and a stuck read is refused with the file
    /// named instead of hanging the command.
    /// </summary>
    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        if (!File.Exists(path)) throw new UserError($"Input file not found: '{path}'.");
        _ = Warm.Value;
        var budget = TimeSpan.FromSeconds(0.5 + new FileInfo(path).Length / 1e6);
        List<DocRecord>? docs = null;
        Exception? error = null;
        var worker = new Thread(() =>
        {
            try { docs = ReadAll(path, o); }
            catch (Exception e) { error = e; }
        }, 16 << 20) { IsBackground = true, Name = "parquet reader" };
        worker.Start();
        if (!worker.Join(budget))
            throw new UserError($"'{path}': reading it took longer than {budget.TotalSeconds:F1} s, the budget for a file of this size; the file is damaged (the Parquet library is stuck on it).");
        if (error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        foreach (var d in docs!) yield return d;
    }

    static readonly Lazy<bool> Warm = new(WarmUp, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Reads a small Parquet file (string, int64 and bool columns, two row groups) through the same
    /// code once per process, so compiling Parquet.Net (a few hundred ms, more on a loaded machine)
    /// is not charged to the first user file's budget.
    /// </summary>
    static bool WarmUp()
    {
        var path = Path.Combine(Path.GetTempPath(), $"saeguard-parquet-warmup-{Environment.ProcessId}-{Guid.NewGuid():N}.parquet");
        try
        {
            WriteWarmUpFile(path).GetAwaiter().GetResult();
            ReadAll(path, new CorpusReadOptions { LabelColumn = "label", CategoryColumn = "flag" });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or UserError) { } // no temp space: the first file pays the compile
        finally { try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
        return true;
    }

    static async Task WriteWarmUpFile(string path)
    {
        var text = new DataField<string>("text"); var label = new DataField<long>("label"); var flag = new DataField<bool>("flag");
        await using var fs = File.Create(path);
        await using var w = await ParquetWriter.CreateAsync(new ParquetSchema(text, label, flag), fs);
        for (int g = 0; g < 2; g++)
        {
            using var rg = w.CreateRowGroup();
            await rg.WriteAsync(text, new string?[] { "a", "b", "a" });
            await rg.WriteAsync<long>(label, new long[] { 1, 0, 1 }.AsMemory());
            await rg.WriteAsync<bool>(flag, new[] { true, false, true }.AsMemory());
        }
    }

    static List<DocRecord> ReadAll(string path, CorpusReadOptions o)
    {
        var reader = Open(path);
        try { return ReadOpen(reader, path, o).ToList(); }
        finally { Close(reader); }
    }

    static IEnumerable<DocRecord> ReadOpen(ParquetReader reader, string path, CorpusReadOptions o)
    {
        var fields = reader.Schema.GetDataFields();
        var names = fields.Select(f => f.Name).ToList();
        var text = Field(fields, CorpusReader.ResolveColumn(names, o.TextColumn, path, "text", true)!);
        var label = OptionalField(fields, CorpusReader.ResolveColumn(names, o.LabelColumn, path, "label", false));
        var category = OptionalField(fields, CorpusReader.ResolveColumn(names, o.CategoryColumn, path, "category", false));
        if (!IsString(text))
            throw new UserError($"'{path}': column '{text.Name}' holds {TypeName(text)} values; the text column must hold strings.");
        long row = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            var texts = ReadStrings(rg, text, path, g);
            var labels = label != null ? ReadStrings(rg, label, path, g) : null;
            var cats = category != null ? ReadStrings(rg, category, path, g) : null;
            for (int i = 0; i < texts.Length; i++)
            {
                row++;
                if (string.IsNullOrWhiteSpace(texts[i])) continue;
                yield return CorpusReader.Make(path, row, texts[i]!, labels?[i], cats?[i], o);
            }
        }
    }

    public static IReadOnlyList<string> ColumnNames(string path)
    {
        var reader = Open(path);
        try { return reader.Schema.GetDataFields().Select(f => f.Name).ToList(); }
        finally { Close(reader); }
    }

    static void Close(ParquetReader reader) => reader.DisposeAsync().AsTask().GetAwaiter().GetResult();

    static ParquetReader Open(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Input file not found: '{path}'.");
        ParquetFooter.Check(path);
        var stream = new EndCheckedStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), path);
        try { return ParquetReader.CreateAsync(stream, leaveStreamOpen: false).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is not UserError and not OutOfMemoryException)
        {
            stream.Dispose();
            throw new UserError($"'{path}' is not a readable Parquet file: {e.Message}");
        }
    }

    static DataField Field(DataField[] fields, string name) => fields.First(f => f.Name == name);
    static DataField? OptionalField(DataField[] fields, string? name) => name == null ? null : Field(fields, name);

    static bool IsString(DataField f) => !f.IsArray && (f.ClrType == typeof(string) || f.ClrType == typeof(ReadOnlyMemory<char>));

    static string TypeName(DataField f) => f.IsArray ? $"list<{f.ClrType.Name}>" : f.ClrType.Name;

    /// <summary>One column of a row group as strings (numbers and booleans formatted invariantly).</summary>
    static string?[] ReadStrings(ParquetRowGroupReader rg, DataField f, string path, int group)
    {
        if (f.IsArray) throw new UserError($"'{path}': column '{f.Name}' holds lists ({TypeName(f)}); expected one value per row.");
        long fileBytes = new FileInfo(path).Length, maxRows = 8 * fileBytes + 4096;
        if (rg.RowCount < 0 || rg.RowCount > maxRows)
            throw new UserError($"'{path}', row group {group}: claims {rg.RowCount:N0} rows in a {fileBytes:N0}-byte file (limit {maxRows:N0}: 8 per byte); the file is damaged.");
        int n = (int)rg.RowCount;
        try
        {
            if (IsString(f))
            {
                var s = new string?[n];
                rg.ReadAsync(f, s.AsMemory(), null).AsTask().GetAwaiter().GetResult();
                return s;
            }
            var t = f.ClrType;
            if (t == typeof(long)) return Numbers<long>(rg, f, n);
            if (t == typeof(int)) return Numbers<int>(rg, f, n);
            if (t == typeof(short)) return Numbers<short>(rg, f, n);
            if (t == typeof(sbyte)) return Numbers<sbyte>(rg, f, n);
            if (t == typeof(byte)) return Numbers<byte>(rg, f, n);
            if (t == typeof(bool)) return Numbers<bool>(rg, f, n);
            if (t == typeof(double)) return Numbers<double>(rg, f, n);
            if (t == typeof(float)) return Numbers<float>(rg, f, n);
        }
        catch (Exception e) when (e is not UserError and not OutOfMemoryException)
        {
            throw new UserError($"'{path}', row group {group}: cannot read column '{f.Name}': {e.Message}");
        }
        throw new UserError($"'{path}': column '{f.Name}' holds {TypeName(f)} values; expected strings, integers or booleans.");
    }

    static string?[] Numbers<T>(ParquetRowGroupReader rg, DataField f, int n) where T : struct
    {
        var v = new T?[n];
        if (f.IsNullable) rg.ReadAsync(f, v.AsMemory(), null).AsTask().GetAwaiter().GetResult();
        else
        {
            var dense = new T[n];
            rg.ReadAsync(f, dense.AsMemory(), null).AsTask().GetAwaiter().GetResult();
            for (int i = 0; i < n; i++) v[i] = dense[i];
        }
        return v.Select(x => x is IFormattable fmt ? fmt.ToString(null, CultureInfo.InvariantCulture) : x?.ToString()).ToArray();
    }
}
