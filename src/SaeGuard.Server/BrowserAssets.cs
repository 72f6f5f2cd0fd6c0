namespace SaeGuard.Server;

/// <summary>The feature browser's files (HTML, JS, CSS), embedded in this assembly: no CDN, no disk.</summary>
sealed class BrowserAssets
{
    readonly Dictionary<string, (byte[] Bytes, string ContentType)> _files = new(StringComparer.Ordinal);

    public BrowserAssets()
    {
        var asm = typeof(BrowserAssets).Assembly;
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith("browser/", StringComparison.Ordinal)))
        {
            using var s = asm.GetManifestResourceStream(name)!;
            var ms = new MemoryStream();
            s.CopyTo(ms);
            _files[name["browser/".Length..]] = (ms.ToArray(), ContentTypes.For(name));
        }
        if (!_files.ContainsKey("index.html")) throw new InvalidOperationException("The feature browser's index.html is not embedded.");
    }

    public bool TryGet(string name, out byte[] bytes, out string contentType)
    {
        var found = _files.TryGetValue(name, out var f);
        (bytes, contentType) = found ? f : (Array.Empty<byte>(), "");
        return found;
    }
}

static class ContentTypes
{
    public static string For(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };
}
