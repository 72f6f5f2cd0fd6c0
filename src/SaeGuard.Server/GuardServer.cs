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
/// Builds the guard's web app: the JSON API (<see cref="GuardApi"/>), the feature browser at /,
/// JSON errors for every failure (no stack traces to clients), loopback-only by default.
/// </summary>
public static class GuardServer
{
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
        var batcher = new MicroBatcher(guard.Scorer.Score, options.MaxBatch, options.BatchWindow, options.QueueCapacity);
        builder.Services.AddSingleton(batcher);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(batcher.Dispose);
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

        var api = new GuardApi(guard, options, batcher, new ReportFiles(guard.Directory), new ReportFiles(options.AnalysisReportDir));
        api.Map(app);
        MapBrowser(app, new BrowserAssets());
        return app;
    }

    static void MapBrowser(WebApplication app, BrowserAssets assets)
    {
        IResult Serve(HttpContext ctx, string name)
        {
            if (!assets.TryGet(name, out var bytes, out var type)) return GuardApi.Error(404, "not_found", "No such file.");
            ctx.Response.Headers.CacheControl = "no-cache";
            if (name == "index.html")
                ctx.Response.Headers.ContentSecurityPolicy =
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
            return Results.Bytes(bytes, type);
        }
        app.MapGet("/", (HttpContext ctx) => Serve(ctx, "index.html"));
        app.MapGet("/assets/{name}", (HttpContext ctx, string name) => Serve(ctx, name));
    }
}
