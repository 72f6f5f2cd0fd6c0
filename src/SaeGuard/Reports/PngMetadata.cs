using System.Buffers.Binary;
using System.Text;

namespace SaeGuard.Reports;

/// <summary>
/// Reads a PNG's size and resolution, and sets its resolution (the pHYs chunk) so that viewers
/// and print tools see the intended DPI. Only the chunk list is touched; pixels are unchanged.
/// </summary>
public static class PngMetadata
{
    static readonly byte[] Signature = { 137, 80, 78, 71, 13, 10, 26, 10 };
    const double MetersPerInch = 0.0254;

    public sealed record Info(int Width, int Height, double? Dpi);

    public static bool IsPng(ReadOnlySpan<byte> bytes) => bytes.Length >= 8 && bytes[..8].SequenceEqual(Signature);

    public static Info Read(ReadOnlySpan<byte> png)
    {
        if (!IsPng(png)) throw new InvalidDataException("Not a PNG file (bad signature).");
        int width = 0, height = 0;
        double? dpi = null;
        foreach (var (type, data, _, _) in Chunks(png.ToArray()))
        {
            if (type == "IHDR") { width = BinaryPrimitives.ReadInt32BigEndian(data); height = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4)); }
            else if (type == "pHYs" && data.Length == 9 && data[8] == 1)
                dpi = BinaryPrimitives.ReadUInt32BigEndian(data) * MetersPerInch;
        }
        return new Info(width, height, dpi);
    }

    /// <summary>The same PNG with a pHYs chunk declaring <paramref name="dpi"/> (any old pHYs removed).</summary>
    public static byte[] WithDpi(byte[] png, double dpi)
    {
        if (!IsPng(png)) throw new InvalidDataException("Not a PNG file (bad signature).");
        uint ppm = (uint)Math.Round(dpi / MetersPerInch);
        var phys = new byte[9];
        BinaryPrimitives.WriteUInt32BigEndian(phys, ppm);
        BinaryPrimitives.WriteUInt32BigEndian(phys.AsSpan(4), ppm);
        phys[8] = 1; // unit: metre
        using var ms = new MemoryStream(png.Length + 32);
        ms.Write(Signature);
        foreach (var (type, data, start, end) in Chunks(png))
        {
            if (type == "pHYs") continue;
            ms.Write(png, start, end - start);
            if (type == "IHDR") WriteChunk(ms, "pHYs", phys);
        }
        return ms.ToArray();
    }

    static IEnumerable<(string Type, byte[] Data, int Start, int End)> Chunks(byte[] png)
    {
        int pos = 8;
        while (pos + 12 <= png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            if (len < 0 || pos + 12L + len > png.Length) throw new InvalidDataException($"PNG chunk at byte {pos} runs past the end of the file.");
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, len).ToArray();
            yield return (type, data, pos, pos + 12 + len);
            pos += 12 + len;
            if (type == "IEND") yield break;
        }
    }

    /// <summary>True when every chunk's stored CRC matches its type and data.</summary>
    public static bool ChunkCrcsValid(byte[] png)
    {
        foreach (var (type, data, _, end) in Chunks(png))
            if (BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(end - 4)) != Crc32(Encoding.ASCII.GetBytes(type), data)) return false;
        return true;
    }

    static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        Encoding.ASCII.GetBytes(type, head[4..]);
        s.Write(head);
        s.Write(data);
        uint crc = Crc32(head[4..], data);
        Span<byte> c = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(c, crc);
        s.Write(c);
    }

    static readonly uint[] CrcTable = BuildCrcTable();

    static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>PNG's CRC-32 over the chunk type and data.</summary>
    static uint Crc32(ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in type) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        foreach (var b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
