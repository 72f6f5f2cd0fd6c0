using SaeGuard.Data.Mixing;
using SaeGuard.Gguf;
using SaeGuard.Models;

namespace SaeGuard.Cli;

/// <summary>The model families the CLI opens: the library's built-in ones plus GGUF files.</summary>
static class CliModels
{
    public static ModelSources Sources { get; } = ModelSources.BuiltIn.With(new GgufModelOpener());

    /// <summary>A token counter on <paramref name="model"/>'s tokenizer (data mix/stats/viz).</summary>
    public static TokenCounter TokenCounter(string model, string? tokenizer, int maxLength)
    {
        var c = Sources.OpenTokenCounter(model, tokenizer, maxLength > 0 ? maxLength : null);
        try { return new TokenCounter(c.ModelName, c.Count, maxLength, c); }
        catch { c.Dispose(); throw; }
    }
}
