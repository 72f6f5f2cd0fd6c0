using SaeGuard.Sae;

namespace SaeGuard.Interop;

/// <summary>How to read a foreign SAE. Everything is optional: formats carry most of it.</summary>
public sealed record SaeImportOptions
{
    /// <summary>auto, saelens, sparsify, dictionary_learning, gemmascope or state_dict.</summary>
    public string Format { get; init; } = "auto";
    /// <summary>
    /// For state dicts: SaeGuard name (W_enc, b_enc, W_dec, b_dec, threshold) → key in the file.
    /// A key ending in ".T" is transposed (e.g. W_enc=encoder.weight.T).
    /// </summary>
    public IReadOnlyDictionary<string, string> KeyMap { get; init; } = new Dictionary<string, string>();
    /// <summary>For state dicts: the dotted prefix of the SAE's tensors ("model_state_dict.").</summary>
    public string? Prefix { get; init; }
    /// <summary>topk, jumprelu or relu; overrides what the format says.</summary>
    public string? Architecture { get; init; }
    public int? K { get; init; }
    public bool? ApplyBDecToInput { get; init; }
    /// <summary>dictionary_learning: multiply biases and threshold by the config's norm_factor
    /// (only for checkpoints saved before dictionary_learning folded it in at save time).</summary>
    public bool FoldNormFactor { get; init; }
    public string? ModelName { get; init; }
    public string? HookName { get; init; }
    public int? Layer { get; init; }

    public static IReadOnlyList<string> Formats { get; } = new[] { "auto", "saelens", "sparsify", "dictionary_learning", "gemmascope", "state_dict" };
}

/// <summary>An imported SAE, the format it was read as, and what the importer assumed.</summary>
public sealed record SaeImportResult(SaeModel Sae, string Format, string Source, IReadOnlyList<string> Notes);
