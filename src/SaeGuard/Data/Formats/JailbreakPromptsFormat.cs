namespace SaeGuard.Data.Formats;

/// <summary>
/// In-the-wild jailbreak prompt CSVs (verazuo/jailbreak_llms: <c>platform,source,prompt,jailbreak,…</c>,
/// CRLF, multi-line quoted prompts). The prompt is harmful with category "jailbreak &amp; roleplay";
/// where the file has a <c>jailbreak</c> column (True/False) it gives the label, so the companion
/// "regular prompts" file reads as benign.
/// </summary>
public static class JailbreakPromptsFormat
{
    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        var labelColumn = o.LabelColumn;
        if (labelColumn == null && o.FixedLabel == null && TabularFile.Columns(path).Contains("jailbreak")) labelColumn = "jailbreak";
        var opts = DataFormats.WithDefaults(o, label: Labels.Harmful, textColumn: "prompt") with { LabelColumn = labelColumn };
        foreach (var doc in TabularFile.Read(path, opts))
            yield return doc.Category == null && doc.Label == Labels.Harmful ? doc with { Category = HarmCategories.JailbreakRoleplay } : doc;
    }
}
