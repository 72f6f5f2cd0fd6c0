namespace SaeGuard.Models;

/// <summary>A model's tokenizer as a count (what the data mixer needs), owning what it opened.</summary>
public sealed record ModelTokenCounter(string ModelName, Func<string, int> Count, IDisposable? Owner) : IDisposable
{
    public void Dispose() => Owner?.Dispose();
}
