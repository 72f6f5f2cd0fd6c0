using nietras.SeparatedValues;
using SaeGuard.Common;

namespace SaeGuard.Data.Guard;

/// <summary>The guard set as CSV: text,label,kind,split,category,source,row,template,template_source,base_text.</summary>
public static class GuardSetFile
{
    public static readonly string[] Columns = { "text", "label", "kind", "split", "category", "source", "row", "template", "template_source", "base_text" };

    public static void Write(string path, IEnumerable<GuardRow> rows)
    {
        AtomicFile.Write(path, stream =>
        {
            using var text = new StreamWriter(stream, leaveOpen: true);
            using var w = Sep.Writer(o => o with { Escape = true }).To(text);
            foreach (var r in rows)
            {
                using var row = w.NewRow();
                row["text"].Set(r.Text);
                row["label"].Set(r.Label);
                row["kind"].Set(r.Kind);
                row["split"].Set(r.Split);
                row["category"].Set(r.Category);
                row["source"].Set(r.Source);
                row["row"].Format(r.Row);
                row["template"].Set(r.Template);
                row["template_source"].Set(r.TemplateSource);
                row["base_text"].Set(r.BaseText);
            }
        });
    }

    public static IReadOnlyList<GuardRow> Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Guard set not found: '{path}'.");
        using var reader = Sep.Reader(o => o with { Unescape = true }).FromFile(path);
        foreach (var c in Columns)
            if (!reader.Header.ColNames.Contains(c)) throw new UserError($"'{path}': missing column '{c}' (expected {string.Join(",", Columns)}).");
        var list = new List<GuardRow>();
        foreach (var r in reader)
            list.Add(new GuardRow
            {
                Text = r["text"].ToString(), Label = r["label"].ToString(), Kind = r["kind"].ToString(), Split = r["split"].ToString(),
                Category = r["category"].ToString(), Source = r["source"].ToString(), Row = r["row"].Parse<int>(),
                Template = r["template"].ToString(), TemplateSource = r["template_source"].ToString(), BaseText = r["base_text"].ToString(),
            });
        return list;
    }
}
