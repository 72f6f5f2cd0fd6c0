using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SaeGuard.Serving;

namespace SaeGuard.Server;

/// <summary>
/// Builds the standalone guard server (<c>saeguard serve</c>): an app of its own with
/// <see cref="SaeGuardServiceCollectionExtensions.AddSaeGuard(IServiceCollection, LoadedGuard, Action{SaeGuardOptions})"/>
/// and <see cref="SaeGuardEndpointRouteBuilderExtensions.MapSaeGuard"/> at the root (the same code
/// path a host app uses), JSON errors for every failure (no stack traces to clients),
/// loopback-only by default.
/// </summary>
public static class GuardServer
{
    /// <param name="guard">The guard to serve; the caller keeps owning (and disposes) it.</param>
    /// <param name="options">Addresses, limits and batching.</param>
    /// <param name="configure">Last say over the builder, e.g. <c>b => b.WebHost.UseTestServer()</c> in tests.</param>
    public static WebApplication Build(LoadedGuard guard, GuardServerOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = StandaloneHost.CreateBuilder(typeof(GuardServer), options);
        builder.Services.AddSaeGuard(guard, o => o.Server = options);
        configure?.Invoke(builder);

        var app = builder.Build();
        // Stop the batching worker with the server (the container disposes it again at app.Dispose, harmlessly).
        app.Lifetime.ApplicationStopped.Register(() => app.Services.GetRequiredService<MicroBatcher>().Dispose());
        StandaloneHost.UseJsonErrors(app);
        app.MapSaeGuard();
        return app;
    }
}
