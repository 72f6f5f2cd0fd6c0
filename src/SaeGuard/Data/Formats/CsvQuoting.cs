using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

/// <summary>
/// A validating pass over a CSV/TSV file's quoting (RFC 4180) before it is parsed: a quoted field
/// must close, and a quote inside it must be doubled (<c>""</c>) or end the field (be followed by
/// the separator, a line end or the end of the file). A quote inside an unquoted field is refused
/// too, since the parser would read it as the start of a quoted region and silently merge rows.
/// Errors name the line. <c>--csv-lenient</c> skips this pass.
/// </summary>
public static class CsvQuoting
{
    public static void Validate(string path, char sep)
    {
        using var sr = new StreamReader(path, detectEncodingFromByteOrderMarks: true);
        Validate(sr, path, sep);
    }

    public static void Validate(TextReader r, string path, char sep)
    {
        const int FieldStart = 0, Unquoted = 1, Quoted = 2, QuoteInQuoted = 3;
        int state = FieldStart;
        long line = 1, openLine = 0;
        var buf = new char[1 << 16];
        int n;
        while ((n = r.Read(buf, 0, buf.Length)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                char c = buf[i];
                switch (state)
                {
                    case FieldStart:
                        if (c == '"') { state = Quoted; openLine = line; }
                        else if (c == sep || c == '\r') { }
                        else if (c == '\n') line++;
                        else state = Unquoted;
                        break;
                    case Unquoted:
                        if (c == sep) state = FieldStart;
                        else if (c == '\n') { line++; state = FieldStart; }
                        else if (c == '"')
                            throw new UserError($"'{path}', line {line}: a quote inside an unquoted field (quote the whole field and double the quote: \"\"), " +
                                                "or pass --csv-lenient to read it anyway.");
                        break;
                    case Quoted:
                        if (c == '"') state = QuoteInQuoted;
                        else if (c == '\n') line++;
                        break;
                    case QuoteInQuoted:
                        if (c == '"') state = Quoted; // a doubled quote
                        else if (c == sep) state = FieldStart;
                        else if (c == '\n') { line++; state = FieldStart; }
                        else if (c == '\r') { }
                        else
                            throw new UserError($"'{path}', line {line}: a quote inside the quoted field opened on line {openLine} is not doubled " +
                                                "(write \"\" for a quote inside quotes), or pass --csv-lenient to read it anyway.");
                        break;
                }
            }
        }
        if (state == Quoted)
            throw new UserError($"'{path}', line {openLine}: a quoted field opens here and never closes (broken quote), or pass --csv-lenient to read it anyway.");
    }
}
