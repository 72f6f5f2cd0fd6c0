using SaeGuard.Common;

namespace SaeGuard.Data.Mixing;

/// <summary>
/// Counts tokens with a model's tokenizer (special tokens included, as extract stores them),
/// optionally capped at a max length; <see cref="CountAll"/> runs on all cores. The count itself
/// is injected (<c>Models.ModelSources.OpenTokenCounter</c> gives one for any <c>--model</c>).
/// </summary>
public sealed class TokenCounter : IDisposable
{
    readonly Func<string, int> _count;
    readonly IDisposable? _owned;
    readonly int _cap;

    public string Model { get; }

    /// <param name="model">The tokenizer's model name (recorded in mix.json).</param>
    /// <param name="count">Tokens of one text, special tokens included, uncapped.</param>
    /// <param name="maxLength">Cap per text (0 = none).</param>
    /// <param name="owned">Disposed with the counter (the model the count runs on).</param>
    public TokenCounter(string model, Func<string, int> count, int maxLength = 0, IDisposable? owned = null)
    {
        if (maxLength < 0) throw new UserError($"--max-length must be 0 (no cap) or positive, got {maxLength}.");
        Model = model; _count = count; _owned = owned; _cap = maxLength;
    }

    public int Count(string text)
    {
        int n = _count(text);
        return _cap > 0 ? Math.Min(n, _cap) : n;
    }

    /// <summary>Token count of every text, in order, tokenized in parallel with progress on stderr.</summary>
    public int[] CountAll(IReadOnlyList<string> texts, string label = "count tokens", int threads = 0)
    {
        var counts = new int[texts.Count];
        const int chunk = 256;
        int chunks = (texts.Count + chunk - 1) / chunk;
        using var bar = new ProgressBar(label, texts.Count, "docs");
        var gate = new object();
        var opts = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.For(0, chunks, opts, c =>
        {
            int start = c * chunk, end = Math.Min(texts.Count, start + chunk);
            for (int i = start; i < end; i++) counts[i] = Count(texts[i]);
            lock (gate) bar.Advance(end - start);
        });
        return counts;
    }

    public void Dispose() => _owned?.Dispose();
}
