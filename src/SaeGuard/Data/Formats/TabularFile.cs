using nietras.SeparatedValues;
using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>Reads a table (CSV/TSV through the generic reader, or Parquet) and peeks at its column names.</summary>
internal static class TabularFile
{
    public static bool IsParquet(string path) => path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase);

    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o) =>
        IsParquet(path) ? ParquetFormat.Read(path, o) : CorpusReader.Formats["csv"](path, o);

    public static IReadOnlyList<string> Columns(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Input file not found: '{path}'.");
        if (IsParquet(path)) return ParquetFormat.ColumnNames(path);
        try
        {
            using var reader = Sep.Reader(r => r with { Unescape = true }).FromFile(path);
            return reader.Header.ColNames.ToList();
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or NotSupportedException)
        {
            throw new UserError($"'{path}' is not a readable CSV file: {e.Message}");
        }
    }
}
