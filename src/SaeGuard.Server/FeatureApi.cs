using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SaeGuard.Common;
using SaeGuard.Features;

namespace SaeGuard.Server;

/// <summary>
/// The feature dashboard over HTTP, for `serve --sae DIR --acts DIR`: GET /v1/features (set info
/// and every feature's summary), GET /v1/features/{id} (the whole page: every context with all its
/// token activations, bands, histogram, label/category specificity, neighbours, probe weight),
/// GET /v1/features/{id}/neuronpedia (Neuronpedia's feature JSON), and the dashboard page at /.
/// </summary>
public sealed class FeatureApi
{
    readonly FeatureSet _set;
    readonly byte[] _index;

    public FeatureApi(FeatureSet set)
    {
        _set = set;
        _index = JsonSerializer.SerializeToUtf8Bytes(new { info = set.Info, features = set.Summaries() }, JsonDefaults.Line);
    }

    public static IResult Error(int status, string code, string message) =>
        Results.Json(new { error = new { code, message } }, JsonDefaults.Line, statusCode: status);

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/features", () => Results.Bytes(_index, "application/json"));
        app.MapGet("/v1/features/{id}", (string id) => Page(id, p => Results.Json(p, JsonDefaults.Line)));
        app.MapGet("/v1/features/{id}/neuronpedia", (string id) => Page(id, p => Results.Text(NeuronpediaExport.Of(p, _set.Info).ToJsonString(JsonDefaults.Line), "application/json")));
        app.MapGet("/", (HttpContext ctx) => Asset(ctx, "index.html"));
        foreach (var name in FeatureSiteAssets.Names.Where(n => n != "index.html"))
            app.MapGet("/" + name, (HttpContext ctx) => Asset(ctx, name));
        // the static export's data script; served empty so the page reads the API instead
        app.MapGet("/data/index.js", () => Results.Text("/* data from /v1/features */\n", "text/javascript; charset=utf-8"));
    }

    IResult Page(string id, Func<FeaturePage, IResult> ok)
    {
        if (!int.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var j) || _set.Get(j) is not { } p)
            return Error(404, "unknown_feature", $"No feature '{id}': ids are 0 … {_set.Pages.Count - 1}.");
        return ok(p);
    }

    static IResult Asset(HttpContext ctx, string name)
    {
        ctx.Response.Headers.CacheControl = "no-cache";
        if (name == "index.html")
            ctx.Response.Headers.ContentSecurityPolicy =
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
        return Results.Bytes(FeatureSiteAssets.Get(name), FeatureSiteAssets.ContentType(name));
    }
}
