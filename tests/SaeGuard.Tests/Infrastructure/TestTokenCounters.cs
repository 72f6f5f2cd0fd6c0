using SaeGuard.Data.Mixing;
using SaeGuard.Models;

namespace SaeGuard.Tests.Infrastructure;

/// <summary>Token counters as the CLI builds them (the count comes from <see cref="ModelSources"/>).</summary>
public static class TestTokenCounters
{
    public static TokenCounter MiniLm(int maxLength = 0)
    {
        var c = ModelSources.BuiltIn.OpenTokenCounter("minilm");
        return new TokenCounter(c.ModelName, c.Count, maxLength, c);
    }
}
