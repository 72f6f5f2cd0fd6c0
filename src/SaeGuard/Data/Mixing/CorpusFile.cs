using System.Text;
using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Data.Mixing;

/// <summary>Writes documents as SaeGuard corpus JSON lines: {"id", "text", "label", "category", "source"}.</summary>
public static class CorpusFile
{
    public static void Write(string path, IEnumerable<DocRecord> docs) => AtomicFile.Write(path, stream =>
    {
        using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        foreach (var d in docs) w.WriteLine(JsonSerializer.Serialize(d, JsonDefaults.Line));
    });
}
