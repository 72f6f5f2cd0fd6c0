using nietras.SeparatedValues;
using SaeGuard.Common;

namespace SaeGuard.Data.BuiltIn;

/// <summary>One row of the built-in prompt set.</summary>
public sealed record BuiltInPrompt(string Text, string Label, string Category, string Style);

/// <summary>
/// The hand-written labelled prompt set embedded in the assembly (Data/BuiltIn/builtin_prompts.csv):
/// short harmful requests in six categories and benign prompts of matching length and style,
/// including benign look-alikes ("kill a process", "crack an egg"). Used by <c>demo</c> and tests.
/// </summary>
public static class BuiltInPrompts
{
    public const string ResourceName = "SaeGuard.builtin_prompts.csv";
    public const string FileName = "builtin_prompts.csv";
    public const string Source = "builtin";
    /// <summary>Category of benign prompts that look risky; other benign rows have category "benign".</summary>
    public const string LookalikeCategory = "benign-lookalike";
    public const string BenignCategory = "benign";

    public static readonly IReadOnlyList<string> HarmCategories = new[]
    {
        "ambiguous requests", "jailbreak & roleplay", "fraud", "toxicity & hate", "violence & illegal", "privacy",
    };

    /// <summary>The prompts as documents (Id = row order, Source = "builtin").</summary>
    public static IReadOnlyList<DocRecord> Load() =>
        LoadRows().Select((r, i) => new DocRecord { Id = i, Text = r.Text, Label = r.Label, Category = r.Category, Source = Source }).ToList();

    /// <summary>Every row with its style (question / imperative / roleplay), in file order.</summary>
    public static IReadOnlyList<BuiltInPrompt> LoadRows()
    {
        using var stream = OpenResource();
        using var reader = Sep.Reader(o => o with { Unescape = true }).From(stream);
        var rows = new List<BuiltInPrompt>();
        foreach (var row in reader)
        {
            rows.Add(new BuiltInPrompt(
                row["text"].ToString(),
                Labels.Normalize(row["label"].ToString(), ResourceName, rows.Count + 2)!,
                row["category"].ToString(),
                row["style"].ToString()));
        }
        return rows;
    }

    /// <summary>
    /// Writes the CSV (columns text,label,category,style) to <paramref name="path"/>, or to
    /// <c>path/builtin_prompts.csv</c> when <paramref name="path"/> is an existing folder, so that
    /// <c>extract --input</c> can read it. Returns the full path of the written file.
    /// </summary>
    public static string WriteCsvTo(string path)
    {
        var target = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        AtomicFile.Write(target, dest =>
        {
            using var stream = OpenResource();
            stream.CopyTo(dest);
        });
        return Path.GetFullPath(target);
    }

    static Stream OpenResource() =>
        typeof(BuiltInPrompts).Assembly.GetManifestResourceStream(ResourceName)
        ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing from the SaeGuard assembly.");
}
