using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
        var urls = ListenUrls.Parse(string.Join(";", options.Urls), options.AllowRemote);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(FeatureServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
            Args = Array.Empty<string>(),
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(urls.ToArray());
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = ctx => FeatureApi.Error(500, "internal", "The server failed to handle this request.").ExecuteAsync(ctx),
        });
        app.UseStatusCodePages(ctx =>
            FeatureApi.Error(ctx.HttpContext.Response.StatusCode, ctx.HttpContext.Response.StatusCode == 404 ? "not_found" : "http_error", "The request could not be handled.").ExecuteAsync(ctx.HttpContext));
        app.Use((ctx, next) => { ctx.Response.Headers["X-Content-Type-Options"] = "nosniff"; return next(ctx); });
        new FeatureApi(set).Map(app);
        return app;
    }
}
