using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>
/// What SaeGuard needs from a Hugging Face <c>tokenizer.json</c> (and the <c>tokenizer_config.json</c>
/// beside it): the model type, every token's text, the added tokens, the tokens wrapped around each
/// text (BOS/EOS, from <c>add_bos_token</c>/<c>add_eos_token</c> when the config says, else from the
/// post-processor), and the chat template.
/// </summary>
public sealed class TokenizerJsonFile
{
    public string Path { get; }
    /// <summary>model.type: BPE, Unigram, WordPiece, WordLevel.</summary>
    public string ModelType { get; }
    public string[] Vocab { get; }
    /// <summary>Added token text → id (special or not).</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }
    public IReadOnlySet<int> SpecialIds { get; }
    public int[] Prefix { get; }
    public int[] Suffix { get; }
    public string? BosToken { get; }
    public string? EosToken { get; }
    public string? ChatTemplate { get; }
    /// <summary>tokenizer_config.json model_max_length, when it is a real limit.</summary>
    public int? ModelMaxLength { get; }
    /// <summary>tokenizer.json with the special added tokens and the post-processor removed: the plain text model.</summary>
    public string ModelOnlyJson { get; }

    TokenizerJsonFile(string path, JsonObject root, JsonObject? config)
    {
        Path = path;
        var model = root["model"] as JsonObject ?? throw Bad("has no \"model\" object");
        ModelType = model["type"]?.GetValue<string>() ?? (model["merges"] != null ? "BPE" : "");
        var pieces = new Dictionary<int, string>();
        switch (model["vocab"])
        {
            case JsonObject o: foreach (var (k, v) in o) pieces[v!.GetValue<int>()] = k; break;
            case JsonArray a: for (int i = 0; i < a.Count; i++) pieces[i] = a[i]![0]!.GetValue<string>(); break;
            default: throw Bad("has no model.vocab (an object of token → id, or a Unigram list of [piece, score])");
        }
        var added = new Dictionary<string, int>();
        var special = new HashSet<int>();
        if (root["added_tokens"] is JsonArray at)
            foreach (var t in at.OfType<JsonObject>())
            {
                int id = t["id"]!.GetValue<int>();
                var content = t["content"]!.GetValue<string>();
                added[content] = id;
                pieces[id] = content;
                if (t["special"]?.GetValue<bool>() == true) special.Add(id);
            }
        AddedTokens = added;
        int n = pieces.Count == 0 ? 0 : pieces.Keys.Max() + 1;
        Vocab = new string[n];
        for (int i = 0; i < n; i++) Vocab[i] = pieces.TryGetValue(i, out var s) ? s : $"<{i}>";

        BosToken = TokenString(config?["bos_token"]);
        EosToken = TokenString(config?["eos_token"]);
        ChatTemplate = config?["chat_template"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonArray list => list.OfType<JsonObject>().FirstOrDefault(x => x["name"]?.GetValue<string>() == "default")?["template"]?.GetValue<string>(),
            _ => null,
        };
        if (config?["model_max_length"] is JsonValue ml && ml.TryGetValue<double>(out var mlen) && mlen >= 1 && mlen < 1e7) ModelMaxLength = (int)mlen;
        var (pre, post) = PostProcessorTokens(root["post_processor"]);
        bool? addBos = Flag(config, "add_bos_token"), addEos = Flag(config, "add_eos_token");
        if (addBos != null) pre = addBos.Value && BosToken != null ? new() { Id(BosToken, "bos_token") } : new();
        if (addEos != null) post = addEos.Value && EosToken != null ? new() { Id(EosToken, "eos_token") } : new();
        Prefix = pre.ToArray();
        Suffix = post.ToArray();
        // without a tokenizer_config.json, the post-processor's tokens are the BOS/EOS (templates need the BOS text)
        BosToken ??= Prefix.Length > 0 ? Vocab[Prefix[0]] : null;
        EosToken ??= Suffix.Length > 0 ? Vocab[Suffix[^1]] : null;
        foreach (var id in Prefix.Concat(Suffix)) special.Add(id);
        SpecialIds = special;

        var plain = (JsonObject)root.DeepClone();
        plain["post_processor"] = null;
        plain["truncation"] = null;
        plain["padding"] = null;
        if (plain["added_tokens"] is JsonArray pa)
            foreach (var t in pa.OfType<JsonObject>().Where(t => t["special"]?.GetValue<bool>() == true).ToList()) pa.Remove(t);
        // A Unigram lattice would still match "<s>" typed in a text through its vocabulary entry: make special pieces unmatchable.
        if (plain["model"]?["vocab"] is JsonArray uv)
            foreach (var id in special.Where(i => i >= 0 && i < uv.Count)) uv[id]![0] = "\uFFFF" + id + "\uFFFF";
        ModelOnlyJson = plain.ToJsonString();
    }

    UserError Bad(string what) => new($"'{Path}' {what}; expected a Hugging Face tokenizer.json.");

    /// <summary>The id of a token string: an added token, else a vocabulary entry.</summary>
    public int Id(string token, string role)
    {
        if (AddedTokens.TryGetValue(token, out var id)) return id;
        int i = Array.IndexOf(Vocab, token);
        if (i >= 0) return i;
        throw new UserError($"'{Path}': the {role} '{token}' is not a token of this tokenizer.");
    }

    public int? TryId(string token) =>
        AddedTokens.TryGetValue(token, out var id) ? id : Array.IndexOf(Vocab, token) is var i and >= 0 ? i : null;

    static bool? Flag(JsonObject? config, string name) =>
        config?[name] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    static string? TokenString(JsonNode? n) => n switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };

    (List<int> Pre, List<int> Post) PostProcessorTokens(JsonNode? pp)
    {
        var pre = new List<int>(); var post = new List<int>();
        if (pp is not JsonObject o) return (pre, post);
        switch (o["type"]?.GetValue<string>())
        {
            case "Sequence":
                foreach (var p in (o["processors"] as JsonArray ?? new JsonArray()))
                {
                    var (a, b) = PostProcessorTokens(p);
                    pre.AddRange(a); post.AddRange(b);
                }
                break;
            case "TemplateProcessing":
                bool seenText = false;
                foreach (var item in (o["single"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                {
                    if (item["Sequence"] != null) { seenText = true; continue; }
                    var tok = item["SpecialToken"]?["id"]?.GetValue<string>();
                    if (tok == null) continue;
                    var ids = o["special_tokens"]?[tok]?["ids"] is JsonArray arr ? arr.Select(x => x!.GetValue<int>()).ToList() : new() { Id(tok, "post-processor token") };
                    (seenText ? post : pre).AddRange(ids);
                }
                break;
            case "BertProcessing":
            case "RobertaProcessing":
                pre.Add(o["cls"]![1]!.GetValue<int>());
                post.Add(o["sep"]![1]!.GetValue<int>());
                break;
        }
        return (pre, post);
    }

    /// <summary>Reads <paramref name="path"/> (a tokenizer.json, or the folder holding it) and the tokenizer_config.json beside it.</summary>
    public static TokenizerJsonFile Load(string path)
    {
        if (Directory.Exists(path)) path = System.IO.Path.Combine(path, "tokenizer.json");
        if (!File.Exists(path)) throw new UserError($"Tokenizer file not found: '{path}'.");
        var root = ParseObject(path);
        var cfgPath = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, "tokenizer_config.json");
        var config = File.Exists(cfgPath) ? ParseObject(cfgPath) : null;
        try { return new TokenizerJsonFile(path, root, config); }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new UserError($"'{path}' is not a tokenizer.json SaeGuard can read ({e.Message}).");
        }
    }

    static JsonObject ParseObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject
                ?? throw new UserError($"'{path}' is not a JSON object.");
        }
        catch (JsonException e) { throw new UserError($"'{path}' is not valid JSON: {e.Message}"); }
    }
}
