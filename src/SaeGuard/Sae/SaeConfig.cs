namespace SaeGuard.Sae;

/// <summary>Where the SAE's activations came from (SAELens cfg "metadata").</summary>
public sealed record SaeMetadata
{
    public string ModelName { get; init; } = "";
    public string HookName { get; init; } = "";
    public int Layer { get; init; }
    public string? ModelSha256 { get; init; }
    /// <summary>Mean ‖x‖ of the training activations (before any normalisation): the scale the SAE expects.</summary>
    public double? TrainActivationNorm { get; init; }
    public string? Dataset { get; init; }
    public long? TrainingTokens { get; init; }
    /// <summary>Tokens per context the activations were taken with (the model's max length at extraction); SAELens <c>context_size</c>.</summary>
    public int? ContextSize { get; init; }
    /// <summary>Whether each context began with the model's start token (BOS / [CLS]); SAELens <c>prepend_bos</c>.</summary>
    public bool? PrependBos { get; init; }
}

/// <summary>
/// An SAE's shape and encoding rule. <see cref="Architecture"/> names one of
/// <see cref="Architectures.SaeArchitectures.InferenceNames"/> (a BatchTopK SAE is saved as JumpReLU).
/// </summary>
public sealed record SaeConfig
{
    public int DIn { get; init; }
    public int DSae { get; init; }
    public string Architecture { get; init; } = Architectures.SaeArchitectures.Default.Name;
    /// <summary>Active latents per token for topk.</summary>
    public int K { get; init; }
    public bool ApplyBDecToInput { get; init; } = true;
    /// <summary>"none" once the training scale is folded into the weights.</summary>
    public string NormalizeActivations { get; init; } = "none";
    public string Dtype { get; init; } = "float32";
    public SaeMetadata Metadata { get; init; } = new();
    /// <summary>How it was trained (arch as trained, l1 coefficient, …), informative only.</summary>
    public Dictionary<string, string> Training { get; init; } = new();
}
