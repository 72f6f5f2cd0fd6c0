using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SaeGuard.Serving;

namespace SaeGuard.Extensions.AI;

public static class SaeGuardChatClientBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="SaeGuardChatClient"/> to the pipeline. With no <paramref name="scorer"/>,
    /// the <see cref="IGuardScorer"/> registered in the builder's services is used (e.g. by
    /// <c>services.AddSaeGuard(…)</c> in SaeGuard.Server); an <see cref="ILoggerFactory"/> there logs blocks.
    /// </summary>
    public static ChatClientBuilder UseSaeGuard(this ChatClientBuilder builder, IGuardScorer? scorer = null,
        Action<SaeGuardChatOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) =>
        {
            var options = new SaeGuardChatOptions();
            configure?.Invoke(options);
            return new SaeGuardChatClient(inner, scorer ?? services.GetRequiredService<IGuardScorer>(), options,
                services.GetService<ILoggerFactory>()?.CreateLogger<SaeGuardChatClient>());
        });
    }
}
