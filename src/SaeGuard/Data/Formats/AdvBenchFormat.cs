namespace SaeGuard.Data.Formats;

/// <summary>AdvBench harmful_behaviors.csv (<c>goal,target</c>): the <c>goal</c> is the prompt; every row is harmful.</summary>
public static class AdvBenchFormat
{
    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o) =>
        TabularFile.Read(path, DataFormats.WithDefaults(o, label: Labels.Harmful, textColumn: "goal"));
}
