using System.Text.Json.Nodes;
using SaeGuard.Common;

namespace SaeGuard.Interop;

/// <summary>
/// The counts a foreign meta.json states at its top level, whatever its schema: the token count
/// (n_tokens, num_tokens, …), the feature width (d_sae, n_features, …; or a [tokens, width]
/// "shape") and per-chunk row counts ("chunks" / "files" / "shards": [{file, rows}]). The
/// dump is checked against them, so a meta.json that disagrees with its files is an error.
/// </summary>
public sealed record ForeignDumpMeta(long? Tokens, long? Width, IReadOnlyList<(string File, long Rows)> ChunkRows)
{
    static readonly string[] TokenKeys = { "n_tokens", "num_tokens", "total_tokens", "n_rows", "num_rows", "tokens", "rows", "n_samples" };
    static readonly string[] WidthKeys = { "d_sae", "n_features", "num_features", "n_latents", "num_latents", "dict_size", "d_hidden", "width", "d" };
    static readonly string[] ChunkListKeys = { "chunks", "files", "shards" };
    static readonly string[] ChunkFileKeys = { "file", "path", "name", "filename" };
    static readonly string[] ChunkRowKeys = { "rows", "n_rows", "n_tokens", "num_tokens", "tokens" };

    public static readonly ForeignDumpMeta None = new(null, null, Array.Empty<(string, long)>());

    public static ForeignDumpMeta From(JsonNode? meta)
    {
        if (meta is not JsonObject obj) return None;
        long? tokens = FirstInt(obj, TokenKeys), width = FirstInt(obj, WidthKeys);
        if (obj["shape"] is JsonArray shape && shape.Count == 2 && Int(shape[0]) is long s0 && Int(shape[1]) is long s1)
        {
            tokens ??= s0; width ??= s1;
        }
        var perChunk = new List<(string, long)>();
        if (ChunkListKeys.Select(k => Get(obj, k)).OfType<JsonArray>().FirstOrDefault() is { } list)
            foreach (var item in list.OfType<JsonObject>())
            {
                var file = ChunkFileKeys.Select(k => Get(item, k)).OfType<JsonValue>()
                    .Select(v => v.TryGetValue<string>(out var s) ? s : null).FirstOrDefault(s => s != null);
                long? rows = FirstInt(item, ChunkRowKeys);
                if (rows == null && item["shape"] is JsonArray cs && cs.Count >= 1) rows = Int(cs[0]);
                if (file != null && rows != null) perChunk.Add((Path.GetFileName(file), rows.Value));
            }
        return new ForeignDumpMeta(tokens, width, perChunk);
    }

    /// <summary>Throws a <see cref="UserError"/> naming meta.json when its counts disagree with the chunks as read.</summary>
    public void Check(string metaPath, IReadOnlyList<(string File, long Rows)> chunks, long rows, int width)
    {
        foreach (var (file, r) in ChunkRows)
        {
            var c = chunks.FirstOrDefault(x => Path.GetFileName(x.File) == file);
            if (c.File == null) throw new UserError($"'{metaPath}' lists chunk '{file}', which is not in the folder.");
            if (r != c.Rows) throw new UserError($"'{metaPath}' says chunk '{file}' has {r} rows but the file holds {c.Rows}.");
        }
        if (Tokens != null && Tokens != rows)
            throw new UserError($"'{metaPath}' says there are {Tokens} tokens but the chunks hold {rows} rows (of width {width}); the metadata and the files disagree.");
        if (Width != null && Width != width)
            throw new UserError($"'{metaPath}' says the width is {Width} but the chunks have {width} columns.");
    }

    static JsonNode? Get(JsonObject o, string key) =>
        o.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    static long? FirstInt(JsonObject o, string[] keys) => keys.Select(k => Int(Get(o, k))).FirstOrDefault(v => v != null);

    static long? Int(JsonNode? node) => JsonFiles.WholeNumber(node);
}
