using Microsoft.AspNetCore.Builder;
using SaeGuard.Features;

namespace SaeGuard.Server;

/// <summary>
/// A web app that serves only the feature dashboard (<see cref="FeatureApi"/>) of an SAE over a
/// dump, with no probe needed: loopback-only by default, JSON errors, no stack traces.
/// </summary>
public static class FeatureServer
{
    public static WebApplication Build(FeatureSet set, GuardServerOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = StandaloneHost.CreateBuilder(typeof(FeatureServer), options);
        configure?.Invoke(builder);
        var app = builder.Build();
        StandaloneHost.UseJsonErrors(app);
        new FeatureApi(set).Map(app);
        return app;
    }
}
