using SaeGuard.Common;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace SaeGuard.Data.Mixing;

public enum ShareUnit { Examples, Tokens }
public enum DedupMode { None, Exact, Near }

/// <summary>One source of a mix: files read with one format, and its share of the mix.</summary>
public sealed record MixSource
{
    public required string Name { get; init; }
    public required IReadOnlyList<string> Paths { get; init; }
    public required double Share { get; init; }
    public CorpusReadOptions Read { get; init; } = new();
    /// <summary>Read at most this many documents per file (0 = all).</summary>
    public int MaxDocs { get; init; }
}

/// <summary>
/// A mixing recipe (YAML or JSON): sources with target shares by examples or by tokens, a total
/// size (omitted = as large as the sources allow), a seed and a dedup mode.
/// </summary>
public sealed record MixRecipe
{
    public required IReadOnlyList<MixSource> Sources { get; init; }
    public ShareUnit By { get; init; } = ShareUnit.Examples;
    /// <summary>Examples (By = examples) or tokens (By = tokens); null = the largest mix the sources allow.</summary>
    public long? Total { get; init; }
    public int Seed { get; init; }
    public DedupMode Dedup { get; init; } = DedupMode.Exact;
    public string Model { get; init; } = "minilm";
    public string? Tokenizer { get; init; }
    /// <summary>Count at most this many tokens per document (0 = no cap), e.g. the model's max length.</summary>
    public int MaxLength { get; init; }

    public static MixRecipe Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Recipe not found: '{path}'.");
        RecipeFile file;
        try
        {
            var yaml = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
            file = yaml.Deserialize<RecipeFile?>(File.ReadAllText(path)) ?? throw new UserError($"Recipe '{path}' is empty.");
        }
        catch (YamlException e)
        {
            var why = e.InnerException?.Message ?? e.Message;
            throw new UserError($"Recipe '{path}', line {e.Start.Line}: {why} (expected fields: seed, by, total, dedup, model, tokenizer, max_length, sources[name, path|paths, share, format, turns, label, category, text_column, label_column, category_column, max_docs]).");
        }
        return file.ToRecipe(path);
    }

    public static ShareUnit ParseUnit(string? s, string where) => s?.Trim().ToLowerInvariant() switch
    {
        null or "" or "examples" or "example" or "rows" => ShareUnit.Examples,
        "tokens" or "token" => ShareUnit.Tokens,
        _ => throw new UserError($"{where}: 'by' must be examples or tokens, got '{s}'."),
    };

    public static DedupMode ParseDedup(string? s, string where) => s?.Trim().ToLowerInvariant() switch
    {
        null or "" or "exact" => DedupMode.Exact,
        "none" or "false" or "off" => DedupMode.None,
        "near" => DedupMode.Near,
        _ => throw new UserError($"{where}: 'dedup' must be none, exact or near, got '{s}'."),
    };

    sealed class RecipeFile
    {
        public int Seed { get; set; }
        public string? By { get; set; }
        public long? Total { get; set; }
        public string? Dedup { get; set; }
        public string? Model { get; set; }
        public string? Tokenizer { get; set; }
        public int MaxLength { get; set; }
        public List<SourceFile>? Sources { get; set; }

        public MixRecipe ToRecipe(string path)
        {
            var where = $"Recipe '{path}'";
            if (Sources == null || Sources.Count == 0) throw new UserError($"{where}: no sources listed.");
            if (Total is <= 0) throw new UserError($"{where}: total must be positive, got {Total}.");
            if (MaxLength < 0) throw new UserError($"{where}: max_length must be 0 (no cap) or positive, got {MaxLength}.");
            var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            var sources = Sources.Select((s, i) => s.ToSource(dir, $"{where}, source {i + 1}")).ToList();
            var dup = sources.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
            if (dup != null) throw new UserError($"{where}: two sources are named '{dup.Key}'; give each a distinct name.");
            return new MixRecipe
            {
                Sources = sources, By = ParseUnit(By, where), Total = Total, Seed = Seed, Dedup = ParseDedup(Dedup, where),
                Model = Model ?? "minilm", Tokenizer = Tokenizer == null ? null : Path.Combine(dir, Tokenizer), MaxLength = MaxLength,
            };
        }
    }

    sealed class SourceFile
    {
        public string? Name { get; set; }
        public string? Path { get; set; }
        public List<string>? Paths { get; set; }
        public double? Share { get; set; }
        public string? Format { get; set; }
        public string? Turns { get; set; }
        public string? Label { get; set; }
        public string? Category { get; set; }
        public string? TextColumn { get; set; }
        public string? LabelColumn { get; set; }
        public string? CategoryColumn { get; set; }
        public int MaxDocs { get; set; }

        public MixSource ToSource(string dir, string where)
        {
            var paths = (Paths ?? new List<string>()).Concat(Path != null ? new[] { Path } : Array.Empty<string>()).ToList();
            if (paths.Count == 0) throw new UserError($"{where}: give 'path' or 'paths'.");
            if (Share is not > 0 || double.IsInfinity(Share.Value)) throw new UserError($"{where}: 'share' must be a positive number, got {Share?.ToString() ?? "nothing"}.");
            if (MaxDocs < 0) throw new UserError($"{where}: max_docs must be 0 (all) or positive.");
            var name = Name ?? System.IO.Path.GetFileNameWithoutExtension(paths[0]);
            return new MixSource
            {
                Name = name,
                Paths = paths.Select(p => System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, p))).ToList(),
                Share = Share.Value,
                MaxDocs = MaxDocs,
                Read = new CorpusReadOptions
                {
                    Format = Format ?? "auto", Turns = Turns, FixedLabel = Label, FixedCategory = Category,
                    TextColumn = TextColumn, LabelColumn = LabelColumn, CategoryColumn = CategoryColumn, Source = name,
                },
            };
        }
    }
}
