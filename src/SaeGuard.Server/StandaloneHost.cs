using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SaeGuard.Server;

/// <summary>
/// What every app of its own that <c>saeguard serve</c> starts shares (the guard server and the
/// feature dashboard): a slim builder on the checked listen addresses (loopback unless allowed),
/// warnings-only console logging, no Server header, a Kestrel body cap; and JSON errors for every
/// failure (no stack traces to clients) plus <c>nosniff</c>.
/// </summary>
static class StandaloneHost
{
    public static WebApplicationBuilder CreateBuilder(Type owner, GuardServerOptions options)
    {
        var urls = ListenUrls.Parse(string.Join(";", options.Urls), options.AllowRemote);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = owner.Assembly.GetName().Name,
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
        return builder;
    }

    public static void UseJsonErrors(WebApplication app)
    {
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
    }
}
