using SaeGuard.Common;
using SaeGuard.Models;

namespace SaeGuard.Data.Mixing;

/// <summary>
/// Counts tokens with a model's tokenizer (special tokens included, as extract stores them),
/// optionally capped at a max length; <see cref="CountAll"/> runs on all cores.
/// </summary>
public sealed class TokenCounter : IDisposable
{
    readonly Func<string, int> _count;
    readonly IDisposable? _owned;
    readonly int _cap;

    public string Model { get; }

    TokenCounter(string model, Func<string, int> count, IDisposable? owned, int cap)
    {
        Model = model; _count = count; _owned = owned; _cap = cap;
    }

    /// <summary>"minilm" (built in) uses its WordPiece tokenizer directly; other models open through <see cref="BuiltInModels.Open"/>.</summary>
    public static TokenCounter ForModel(string model = "minilm", string? tokenizer = null, int maxLength = 0)
    {
        if (maxLength < 0) throw new UserError($"--max-length must be 0 (no cap) or positive, got {maxLength}.");
        if (tokenizer == null && (model.Equals("minilm", StringComparison.OrdinalIgnoreCase) || model.Equals(BuiltInModels.MiniLmName, StringComparison.OrdinalIgnoreCase)))
        {
            var tok = BuiltInModels.MiniLmTokenizer();
            return new TokenCounter(BuiltInModels.MiniLmName, t => tok.Encode(t, int.MaxValue).Length, null, maxLength);
        }
        var source = BuiltInModels.Open(model, 0, tokenizer, threads: 1, maxLength: maxLength > 0 ? maxLength : null);
        return new TokenCounter(source.ModelName, t => source.Tokenize(t).Length, source, maxLength);
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
