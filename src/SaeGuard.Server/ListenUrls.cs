using System.Net;
using SaeGuard.Common;

namespace SaeGuard.Server;

/// <summary>Checks --urls: http only, and loopback addresses unless binding elsewhere is allowed.</summary>
public static class ListenUrls
{
    public static IReadOnlyList<string> Parse(string urls, bool allowRemote)
    {
        var list = urls.Split(new[] { ';', ',', ' ' }, StringSplitOptions.RemoveEmptyEntries);
        if (list.Length == 0) throw new UserError("--urls is empty; give one or more addresses such as http://127.0.0.1:5080.");
        foreach (var url in list)
        {
            var hostPart = url.Replace("://*", "://wildcard-host").Replace("://+", "://wildcard-host");
            if (!Uri.TryCreate(hostPart, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
                throw new UserError($"--urls: '{url}' is not an http:// address with a host and port (e.g. http://127.0.0.1:5080).");
            if (uri.AbsolutePath != "/" || uri.Query != "")
                throw new UserError($"--urls: '{url}' must not have a path or query.");
            if (!allowRemote && !IsLoopback(uri.Host))
                throw new UserError($"--urls: '{url}' is not a loopback address; the server binds to 127.0.0.1, [::1] or localhost unless --allow-remote is given.");
        }
        return list;
    }

    public static bool IsLoopback(string host)
    {
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
    }
}
