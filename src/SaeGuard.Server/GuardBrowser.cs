using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SaeGuard.Server;

/// <summary>The feature browser's routes: index.html at the prefix's "/", its assets beside it. The page
/// uses relative URLs, so it works under any prefix (a prefix without its trailing slash redirects to it).</summary>
static class GuardBrowser
{
    const string Csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

    public static void Map(IEndpointRouteBuilder group, string prefix, BrowserAssets assets)
    {
        IResult Serve(HttpContext ctx, string name)
        {
            if (!assets.TryGet(name, out var bytes, out var type)) return GuardApi.Error(404, "not_found", "No such file.");
            ctx.Response.Headers.CacheControl = "no-cache";
            if (name == "index.html") ctx.Response.Headers.ContentSecurityPolicy = Csp;
            return Results.Bytes(bytes, type);
        }
        group.MapGet("/", (HttpContext ctx) =>
        {
            // index.html's links are relative: at "/guard" they would resolve against "/".
            var path = ctx.Request.Path.Value ?? "";
            if (prefix.Length > 0 && !path.EndsWith('/'))
                return Results.Redirect(ctx.Request.PathBase + path + "/" + ctx.Request.QueryString);
            return Serve(ctx, "index.html");
        });
        group.MapGet("/assets/{name}", (HttpContext ctx, string name) => Serve(ctx, name));
    }
}
