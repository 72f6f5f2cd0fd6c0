using System.Buffers.Binary;
using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Checks a Parquet file's footer before the Parquet library parses it: "PAR1" at both ends, a
/// footer length inside the file, and footer bytes that form one well-formed Thrift compact
/// struct (varints of at most 10 bytes, lengths inside the footer, nesting ≤ 64), walked without
/// recursion. Parquet.Net loops forever on some malformed footers (a varint running into the end);
/// this refuses them with the file named.
/// </summary>
public static class ParquetFooter
{
    const int MaxDepth = 64;

    public static void Check(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long len = fs.Length;
        if (len < 12) throw Bad(path, $"{len} bytes is too short for a Parquet file");
        Span<byte> head = stackalloc byte[4];
        fs.ReadExactly(head);
        Span<byte> tail = stackalloc byte[8];
        fs.Position = len - 8;
        fs.ReadExactly(tail);
        if (!head.SequenceEqual("PAR1"u8) || !tail[4..].SequenceEqual("PAR1"u8)) throw Bad(path, "it does not start and end with 'PAR1'");
        long footer = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        if (footer <= 0 || footer > len - 12) throw Bad(path, $"footer length {footer:N0} does not fit the {len:N0}-byte file");
        var buf = new byte[footer];
        fs.Position = len - 8 - footer;
        fs.ReadExactly(buf);
        if (Walk(buf) is { } why) throw Bad(path, $"the footer metadata is malformed ({why})");
        ParquetPages.Check(fs, path, buf, len - 8 - footer);
    }

    internal static UserError Bad(string path, string why) => new($"'{path}' is not a readable Parquet file: {why}.");

    /// <summary>Null when <paramref name="b"/> starts with one complete compact-protocol struct, else why not.</summary>
    public static string? Walk(ReadOnlySpan<byte> b) => Walk(b, out _);

    /// <summary>As <see cref="Walk(ReadOnlySpan{byte})"/>; <paramref name="consumed"/> is the struct's length in bytes.</summary>
    public static string? Walk(ReadOnlySpan<byte> b, out int consumed)
    {
        int p = 0;
        consumed = 0;
        // each frame: a struct (fields until stop) or a container with `remaining` elements of one type
        var frames = new Stack<(bool IsStruct, int ElemType, long Remaining)>();
        frames.Push((true, 0, 0));
        while (frames.Count > 0)
        {
            if (frames.Count > MaxDepth) return $"nesting deeper than {MaxDepth}";
            var (isStruct, elemType, remaining) = frames.Pop();
            int type;
            if (isStruct)
            {
                if (p >= b.Length) return "ends inside a struct";
                byte h = b[p++];
                if (h == 0) continue; // stop
                type = h & 0x0F;
                if ((h >> 4) == 0 && Varint(b, ref p) == null) return "bad field id";
                frames.Push((true, 0, 0));
                if (type is 1 or 2) continue; // bool in the header
            }
            else
            {
                if (remaining == 0) continue;
                frames.Push((false, elemType, remaining - 1));
                type = elemType;
                if (type is 1 or 2) { if (p++ >= b.Length) return "ends inside a list"; continue; }
            }
            switch (type)
            {
                case 3: if (p++ >= b.Length) return "ends inside a byte"; break;
                case 4: case 5: case 6: if (Varint(b, ref p) == null) return "bad varint"; break;
                case 7: p += 8; if (p > b.Length) return "ends inside a double"; break;
                case 8:
                    {
                        var n = Varint(b, ref p);
                        if (n == null || n > (ulong)(b.Length - p)) return "a binary length runs past the footer";
                        p += (int)n;
                        break;
                    }
                case 9: case 10:
                    {
                        if (p >= b.Length) return "ends inside a list header";
                        byte lh = b[p++];
                        ulong count = (ulong)(lh >> 4);
                        if (count == 15 && (Varint(b, ref p) is not { } big || (count = big) > (ulong)(b.Length - p))) return "a list length runs past the footer";
                        frames.Push((false, lh & 0x0F, (long)count));
                        break;
                    }
                case 11: return "a map, which Parquet metadata never holds";
                case 12: frames.Push((true, 0, 0)); break;
                default: return $"unknown type {type}";
            }
        }
        consumed = p;
        return null;
    }

    internal static ulong? Varint(ReadOnlySpan<byte> b, ref int p)
    {
        ulong v = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (p >= b.Length) return null;
            byte x = b[p++];
            v |= (ulong)(x & 0x7F) << shift;
            if ((x & 0x80) == 0) return v;
        }
        return null;
    }
}
