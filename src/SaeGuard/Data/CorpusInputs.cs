using SaeGuard.Common;
using SaeGuard.Data.Mixing;

namespace SaeGuard.Data;

/// <summary>The one reader behind extract's and data's <c>--input</c> (and data's <c>--recipe</c>) options.</summary>
public static class CorpusInputs
{
    public static List<DocRecord> Read(IReadOnlyList<string> files, CorpusInputOptions o)
    {
        var docs = new List<DocRecord>();
        for (int i = 0; i < files.Count; i++)
        {
            var read = o.Read with
            {
                TextColumn = PerInput(o.TextColumns, "--text-column", i, files.Count) ?? o.Read.TextColumn,
                FixedLabel = PerInput(o.Labels, "--label", i, files.Count) ?? o.Read.FixedLabel,
                FixedCategory = PerInput(o.Categories, "--category", i, files.Count) ?? o.Read.FixedCategory,
            };
            docs.AddRange(Capped(CorpusReader.Read(files[i], read), o.MaxDocs));
        }
        return docs;
    }

    /// <summary>All documents of a mix recipe's sources (before sampling), each tagged with its source name.</summary>
    public static List<DocRecord> ReadRecipeSources(string recipe, int maxDocs = 0)
    {
        var docs = new List<DocRecord>();
        foreach (var s in MixRecipe.Load(recipe).Sources)
            foreach (var path in s.Paths)
                docs.AddRange(Capped(CorpusReader.Read(path, s.Read).Select(d => d with { Source = s.Name }), s.MaxDocs > 0 ? s.MaxDocs : maxDocs));
        return docs;
    }

    static string? PerInput(IReadOnlyList<string> values, string option, int i, int inputs)
    {
        if (values.Count == 0) return null;
        if (values.Count == 1) return values[0];
        if (values.Count != inputs)
            throw new UserError($"{option} was given {values.Count} times for {inputs} inputs: give it once (all inputs) or once per --input.");
        return values[i];
    }

    static IEnumerable<DocRecord> Capped(IEnumerable<DocRecord> rows, int cap) => cap > 0 ? rows.Take(cap) : rows;
}
