using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace SaeGuard.Server;

/// <summary>Adds the guard's endpoints and feature browser to an app: <c>app.MapSaeGuard("/guard")</c>.</summary>
public static class SaeGuardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps /healthz, /v1/info, /v1/classify, /v1/explain, /v1/features[/{id}], the report files and
    /// the feature browser (at <paramref name="prefix"/>/) under <paramref name="prefix"/> ("" for the
    /// root). Needs <see cref="SaeGuardServiceCollectionExtensions.AddSaeGuard(IServiceCollection, Action{SaeGuardOptions})"/>;
    /// loads the guard now. The returned group takes the host's conventions, e.g.
    /// <c>.RequireAuthorization()</c> or <c>.RequireRateLimiting("guard")</c>.
    /// </summary>
    public static RouteGroupBuilder MapSaeGuard(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var api = endpoints.ServiceProvider.GetService<GuardApi>()
                  ?? throw new InvalidOperationException("MapSaeGuard needs the guard's services: call builder.Services.AddSaeGuard(o => o.ProbePath = \"…\") first.");
        var normalized = Normalize(prefix);
        var group = endpoints.MapGroup(normalized);
        group.AddEndpointFilter(async (ctx, next) =>
        {
            ctx.HttpContext.Response.Headers["X-Content-Type-Options"] = "nosniff";
            return await next(ctx);
        });
        api.Map(group, normalized);
        GuardBrowser.Map(group, normalized, new BrowserAssets());
        return group;
    }

    /// <summary>"" or "/a/b": a leading slash, no trailing one.</summary>
    internal static string Normalize(string? prefix)
    {
        var p = (prefix ?? "").Trim().TrimEnd('/');
        if (p.Length == 0) return "";
        if (p.Contains('{') || p.Contains('?') || p.Contains('#'))
            throw new ArgumentException($"MapSaeGuard's prefix must be a plain path such as \"/guard\", got \"{prefix}\".", nameof(prefix));
        return p.StartsWith('/') ? p : "/" + p;
    }
}
