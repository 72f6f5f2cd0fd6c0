namespace SaeGuard.Data.Formats;

/// <summary>
/// Registers the public-corpus readers in <see cref="CorpusReader.Formats"/>. CorpusReader's static
/// constructor calls <see cref="RegisterAll"/>, so callers never have to.
/// </summary>
public static class DataFormats
{
    static int _registered;

    public static void RegisterAll()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        var f = CorpusReader.Formats;
        f["parquet"] = ParquetFormat.Read;
        f["sharegpt"] = ShareGptFormat.Read;
        f["hh-rlhf"] = HhRlhfFormat.Read;
        f["advbench"] = AdvBenchFormat.Read;
        f["jailbreak"] = JailbreakPromptsFormat.Read;
        f["galtea"] = GalteaFormat.Read;
        f["forbidden-questions"] = ForbiddenQuestionsFormat.Read;
        f["self-instruct"] = SelfInstructFormat.Read;
        f["alpaca"] = AlpacaFormat.Read;
        f["corpus"] = CorpusFormat.Read;
        f["messages"] = HfMessagesFormat.Read;
        f["arrow"] = ArrowDatasetFormat.Read;
    }

    /// <summary>"auto" and every registered format, for --format help texts and messages.</summary>
    public static string KnownNames => "auto|" + string.Join("|", CorpusReader.Formats.Keys);

    /// <summary>The options with a format's own default label/category where the user gave none.</summary>
    internal static CorpusReadOptions WithDefaults(CorpusReadOptions o, string? label = null, string? category = null, string? textColumn = null,
        string? categoryColumn = null) => o with
    {
        FixedLabel = o.FixedLabel ?? label,
        FixedCategory = o.FixedCategory ?? category,
        TextColumn = o.TextColumn ?? textColumn,
        CategoryColumn = o.CategoryColumn ?? categoryColumn,
    };
}
