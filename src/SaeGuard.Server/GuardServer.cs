using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
        var urls = ListenUrls.Parse(string.Join(";", options.Urls), options.AllowRemote);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(GuardServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
            Args = Array.Empty<string>(),
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", LogLevel.Error);
        builder.WebHost.UseUrls(urls.ToArray());
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // The API enforces options.MaxBodyBytes itself (with a JSON 413); Kestrel's cap is a backstop.
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes + 64 * 1024;
        });
        builder.Services.AddSaeGuard(guard, o => o.Server = options);
        configure?.Invoke(builder);

        var app = builder.Build();
        // Stop the batching worker with the server (the container disposes it again at app.Dispose, harmlessly).
        app.Lifetime.ApplicationStopped.Register(() => app.Services.GetRequiredService<MicroBatcher>().Dispose());
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = ctx => GuardApi.Error(500, "internal", "The server failed to handle this request.").ExecuteAsync(ctx),
        });
        app.UseStatusCodePages(ctx =>
        {
            var status = ctx.HttpContext.Response.StatusCode;
            var (code, message) = status switch
            {
                404 => ("not_found", "No such endpoint."),
                405 => ("method_not_allowed", "This endpoint does not take that HTTP method."),
                _ => ("http_" + status, "The request could not be handled."),
            };
            return GuardApi.Error(status, code, message).ExecuteAsync(ctx.HttpContext);
        });
        app.Use((ctx, next) =>
        {
            ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
            return next(ctx);
        });

        app.MapSaeGuard();
        return app;
    }
}
