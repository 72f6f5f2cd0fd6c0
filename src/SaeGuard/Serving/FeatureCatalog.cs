using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Serving;

/// <summary>An in-memory <see cref="IFeatureCatalog"/>, stored as features.json.</summary>
public sealed class FeatureCatalog : IFeatureCatalog
{
    public const string FileName = "features.json";
    const string Format = "saeguard-features";

    readonly Dictionary<int, FeatureSummary> _byId;
    readonly FeatureSummary[] _ordered;

    /// <summary>Non-special tokens the statistics were measured on.</summary>
    public long TokensSeen { get; }

    public FeatureCatalog(IEnumerable<FeatureSummary> features, long tokensSeen)
    {
        _ordered = features.OrderBy(f => f.Id).ToArray();
        _byId = new Dictionary<int, FeatureSummary>(_ordered.Length);
        foreach (var f in _ordered)
            if (!_byId.TryAdd(f.Id, f)) throw new UserError($"Feature catalog lists feature {f.Id} twice.");
        TokensSeen = tokensSeen;
    }

    public FeatureSummary? Get(int id) => _byId.GetValueOrDefault(id);
    public IEnumerable<FeatureSummary> List() => _ordered;
    public int Count => _ordered.Length;

    public string LabelOf(int id) => _byId.TryGetValue(id, out var f) ? f.Label : $"feature {id}";

    sealed record FileDoc
    {
        public string Format { get; init; } = "";
        public int FormatVersion { get; init; }
        public long TokensSeen { get; init; }
        public List<FeatureSummary>? Features { get; init; }
    }

    public void Save(string path) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(
            new FileDoc { Format = Format, FormatVersion = 1, TokensSeen = TokensSeen, Features = _ordered.ToList() }, JsonDefaults.Line));

    public static FeatureCatalog Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Feature catalog not found: '{path}'.");
        FileDoc? doc;
        try { doc = JsonSerializer.Deserialize<FileDoc>(File.ReadAllBytes(path), JsonDefaults.Line); }
        catch (JsonException e) { throw new UserError($"'{path}' is not a valid feature catalog: {e.Message}"); }
        if (doc == null || doc.Format != Format || doc.Features == null)
            throw new UserError($"'{path}' is not a feature catalog (expected {{\"format\": \"{Format}\", \"features\": [...]}}).");
        return new FeatureCatalog(doc.Features, doc.TokensSeen);
    }
}
