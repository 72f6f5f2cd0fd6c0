using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// The limits every reader of a user's JSON / JSON-lines file holds while it parses: nesting depth
/// and the size of one record (a JSONL line, a JSON list item). A file over a limit stops with a
/// <see cref="UserError"/> naming the file, the line or item, and the limit.
/// </summary>
public static class JsonBudget
{
    /// <summary>Deepest nesting of objects and arrays in one record.</summary>
    public const int MaxDepth = 64;
    /// <summary>Largest record, in characters (JSONL) or bytes (a list item); ShareGPT's longest conversations are under 1 MB.</summary>
    public const int MaxRecordChars = 16 << 20;

    /// <summary>Largest JSON config or manifest read whole (meta.json, cfg.json of a foreign dump or SAE).</summary>
    public const long MaxConfigBytes = 64L << 20;

    public static JsonDocumentOptions DocumentOptions => new() { MaxDepth = MaxDepth };

    /// <summary>A whole JSON config/manifest file, parsed within <see cref="MaxConfigBytes"/> and <see cref="MaxDepth"/>.</summary>
    public static JsonNode? ParseFile(string path)
    {
        long length = new FileInfo(path).Length;
        if (length > MaxConfigBytes)
            throw new UserError($"'{path}' is {length:N0} bytes; a JSON config or manifest may be at most {MaxConfigBytes:N0} bytes.");
        try { return JsonNode.Parse(File.ReadAllText(path), documentOptions: DocumentOptions); }
        catch (JsonException e) { throw Invalid(e, path, "the file"); }
    }
    public static JsonSerializerOptions SerializerOptions { get; } = new() { MaxDepth = MaxDepth };

    /// <summary>One record parsed within the depth limit; <paramref name="where"/> is "line 12" or "item 12".</summary>
    public static JsonDocument Parse(string text, string path, string where)
    {
        try { return JsonDocument.Parse(text, DocumentOptions); }
        catch (JsonException e) { throw Invalid(e, path, where); }
    }

    /// <summary>The UserError for a JSON parse failure: the depth limit when that is what stopped it.</summary>
    public static UserError Invalid(JsonException e, string path, string where, string expected = "") =>
        e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
            ? new UserError($"'{path}', {where}: JSON nested deeper than {MaxDepth} levels (the limit for one record).")
            : new UserError($"'{path}', {where}: not valid JSON ({e.Message}){expected}.");

    public static UserError TooLarge(string path, string where) =>
        new($"'{path}', {where}: a record larger than {MaxRecordChars:N0} characters (the limit for one JSON line or list item).");
}

/// <summary>
/// Lines of a text file with the line length bounded while reading (a 2 GB line is refused after
/// <see cref="JsonBudget.MaxRecordChars"/> characters instead of being built in memory). "\r\n" and
/// "\n" end lines.
/// </summary>
public sealed class BoundedLineReader(TextReader reader, string path, int maxChars)
{
    readonly char[] _buf = new char[1 << 16];
    readonly StringBuilder _sb = new();
    int _pos, _len;
    long _line;

    /// <summary>The next line (without its end), or null at the end of the file.</summary>
    public string? ReadLine()
    {
        _sb.Clear();
        _line++;
        bool any = false;
        while (true)
        {
            if (_pos == _len)
            {
                _len = reader.Read(_buf, 0, _buf.Length);
                _pos = 0;
                if (_len <= 0) { _len = 0; return any ? Finish() : null; }
            }
            any = true;
            int nl = Array.IndexOf(_buf, '\n', _pos, _len - _pos);
            int end = nl < 0 ? _len : nl;
            if (_sb.Length + (end - _pos) > maxChars) throw JsonBudget.TooLarge(path, $"line {_line}");
            _sb.Append(_buf, _pos, end - _pos);
            _pos = nl < 0 ? _len : nl + 1;
            if (nl >= 0) return Finish();
        }
    }

    string Finish()
    {
        if (_sb.Length > 0 && _sb[^1] == '\r') _sb.Length--;
        return _sb.ToString();
    }
}

/// <summary>A read-only stream that refuses to deliver more than a budget of bytes past the last <see cref="Mark"/>.</summary>
sealed class RecordBudgetStream(Stream inner, long budget, string path) : Stream
{
    long _read, _mark;

    /// <summary>A record ended here; the next one gets a fresh budget.</summary>
    public void Mark() => _mark = _read;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        _read += n;
        if (_read - _mark > budget) throw new InvalidDataException($"'{path}': a record larger than {budget:N0} bytes (the limit for one JSON list item)");
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
