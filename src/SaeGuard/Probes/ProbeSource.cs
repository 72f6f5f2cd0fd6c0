using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Models;

namespace SaeGuard.Probes;

/// <summary>Opens the model a probe (or its training activations) came from.</summary>
internal static class ProbeSource
{
    public static IActivationSource Open(ModelSources models, string model, DumpMeta meta, int threads = 0) =>
        Open(models, model, meta.Layer, meta.MaxLength, meta.Extra?.GetValueOrDefault("hook_tensor"), meta.ModelSha256, threads);

    public static IActivationSource Open(ModelSources models, string model, int layer, int maxLength, string? hookTensor, string? expectedSha256, int threads = 0)
    {
        var source = models.Open(new ModelRequest(model, layer) { Threads = threads, MaxLength = maxLength > 0 ? maxLength : null, HookTensor = hookTensor });
        if (!string.IsNullOrEmpty(expectedSha256) && !string.IsNullOrEmpty(source.ModelSha256) && source.ModelSha256 != expectedSha256)
        {
            source.Dispose();
            throw new UserError($"Model '{model}' is not the model the probe was trained on (sha256 {source.ModelSha256[..12]}… vs {expectedSha256[..Math.Min(12, expectedSha256.Length)]}…).");
        }
        return source;
    }
}
