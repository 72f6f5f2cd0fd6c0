namespace SaeGuard.Data.Formats;

/// <summary>
/// Checks the page headers of every column chunk a Parquet footer lists before Parquet.Net reads
/// them: each header is one well-formed Thrift compact struct (<see cref="ParquetFooter.Walk(ReadOnlySpan{byte}, out int)"/>)
/// whose page sizes are non-negative and end inside the file, and chunk offsets lie inside the data
/// area. Parquet.Net 6.1 loops on some malformed page headers; with this they are refused at once,
/// naming the file, the row group, the column and the byte offset.
/// </summary>
static class ParquetPages
{
    const int MaxHeaderBytes = 1 << 20;
    const int MaxPages = 1 << 20;

    public static void Check(FileStream fs, string path, byte[] footer, long dataEnd)
    {
        int p = 0;
        var meta = ThriftValue.ReadStruct(footer, ref p, 0);
        if (meta.GetValueOrDefault(4) is not List<object?> groups) return;
        var buf = new byte[64 << 10];
        for (int g = 0; g < groups.Count; g++)
        {
            if (groups[g] is not Dictionary<int, object?> rg || rg.GetValueOrDefault(1) is not List<object?> columns) continue;
            for (int c = 0; c < columns.Count; c++)
            {
                if (columns[c] is not Dictionary<int, object?> chunk || chunk.GetValueOrDefault(3) is not Dictionary<int, object?> cm) continue;
                string where = $"row group {g}, column {c}";
                long data = cm.GetValueOrDefault(9) as long? ?? -1, dict = cm.GetValueOrDefault(11) as long? ?? 0, size = cm.GetValueOrDefault(7) as long? ?? -1;
                long start = dict > 0 && dict < data ? dict : data;
                if (start < 4 || size < 0 || start > dataEnd || size > dataEnd - start)
                    throw ParquetFooter.Bad(path, $"{where}: its pages ({start:N0} + {size:N0} bytes) do not lie inside the data area (bytes 4 to {dataEnd:N0})");
                long pos = start, end = start + size;
                for (int pages = 0; pos < end; pages++)
                {
                    if (pages > MaxPages) throw ParquetFooter.Bad(path, $"{where}: more than {MaxPages:N0} pages");
                    int n = (int)Math.Min(Math.Min(dataEnd - pos, MaxHeaderBytes), int.MaxValue);
                    if (buf.Length < n && buf.Length < MaxHeaderBytes) buf = new byte[Math.Min(MaxHeaderBytes, Math.Max(n, 2 * buf.Length))];
                    n = Math.Min(n, buf.Length);
                    fs.Position = pos;
                    fs.ReadExactly(buf, 0, n);
                    if (ParquetFooter.Walk(buf.AsSpan(0, n), out int headerLen) is { } why)
                        throw ParquetFooter.Bad(path, $"{where}: the page header at byte {pos:N0} is malformed ({why})");
                    int q = 0;
                    var header = ThriftValue.ReadStruct(buf.AsSpan(0, headerLen), ref q, 0);
                    long uncompressed = header.GetValueOrDefault(2) as long? ?? -1, compressed = header.GetValueOrDefault(3) as long? ?? -1;
                    if (uncompressed < 0 || compressed < 0)
                        throw ParquetFooter.Bad(path, $"{where}: the page header at byte {pos:N0} has no valid page sizes");
                    pos += headerLen + compressed;
                    if (pos > dataEnd) throw ParquetFooter.Bad(path, $"{where}: the page at byte {pos - headerLen - compressed:N0} ({compressed:N0} bytes) runs past the data area");
                }
            }
        }
    }
}

/// <summary>
/// Decodes Thrift compact-protocol values already checked by <see cref="ParquetFooter.Walk(ReadOnlySpan{byte})"/>
/// (so nesting is at most 64): structs as field id → value, lists as lists, integers as long,
/// binaries and doubles as null.
/// </summary>
static class ThriftValue
{
    public static Dictionary<int, object?> ReadStruct(ReadOnlySpan<byte> b, ref int p, int depth)
    {
        if (depth > 64) throw new InvalidDataException("Thrift nesting deeper than 64.");
        var fields = new Dictionary<int, object?>();
        int last = 0;
        while (true)
        {
            byte h = b[p++];
            if (h == 0) return fields;
            int type = h & 0x0F, delta = h >> 4;
            int id = delta != 0 ? last + delta : (int)Zigzag(ParquetFooter.Varint(b, ref p) ?? 0);
            last = id;
            fields[id] = type is 1 or 2 ? type == 1 : Read(b, ref p, type, depth);
        }
    }

    static object? Read(ReadOnlySpan<byte> b, ref int p, int type, int depth)
    {
        switch (type)
        {
            case 1: case 2: return b[p++] == 1;
            case 3: return (long)(sbyte)b[p++];
            case 4: case 5: case 6: return Zigzag(ParquetFooter.Varint(b, ref p) ?? 0);
            case 7: p += 8; return null;
            case 8: { int n = (int)(ParquetFooter.Varint(b, ref p) ?? 0); p += n; return null; }
            case 9: case 10:
                {
                    byte lh = b[p++];
                    long count = lh >> 4;
                    if (count == 15) count = (long)(ParquetFooter.Varint(b, ref p) ?? 0);
                    var list = new List<object?>();
                    for (long i = 0; i < count; i++) list.Add(Read(b, ref p, lh & 0x0F, depth + 1));
                    return list;
                }
            case 12: return ReadStruct(b, ref p, depth + 1);
        }
        throw new InvalidDataException($"Thrift type {type}.");
    }

    static long Zigzag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);
}
