namespace SaeGuard.Features;

/// <summary>
/// The feature dashboard's page, script and style (Features/Site, embedded): one JSON-driven page
/// used both by the static export (data from data/*.js script files, so it opens from file://) and
/// by the server (data from /v1/features). No CDN, nothing fetched from elsewhere.
/// </summary>
public static class FeatureSiteAssets
{
    public static readonly string[] Names = { "index.html", "dashboard.js", "dashboard.css" };
    const string Prefix = "SaeGuard.features.site.";

    public static byte[] Get(string name)
    {
        if (!Names.Contains(name)) throw new ArgumentException($"No dashboard asset '{name}'.", nameof(name));
        using var s = typeof(FeatureSiteAssets).Assembly.GetManifestResourceStream(Prefix + name)
            ?? throw new InvalidOperationException($"The dashboard asset '{name}' is not embedded.");
        var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    public static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        _ => "text/css; charset=utf-8",
    };
}
