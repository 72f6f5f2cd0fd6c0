using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SaeGuard.Common;
using SaeGuard.Server;

namespace SaeGuard.Cli.Commands;

/// <summary>What every <c>serve</c> mode does with its app: start it (a bind failure is one line, exit 1), print what it serves and where, run until Ctrl+C.</summary>
static class ServeHost
{
    /// <param name="build">Builds the app, given the builder tweak that silences the host's own stack-trace log of a bind failure.</param>
    /// <param name="options">The listen addresses (named in a bind failure).</param>
    /// <param name="what">The first line printed (what is served).</param>
    /// <param name="page">What the root page is, for the "listening on" lines.</param>
    public static int Run(Func<Action<WebApplicationBuilder>, WebApplication> build, GuardServerOptions options, string what, string page)
    {
        var app = build(b => b.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None));
        try { app.Start(); }
        catch (IOException e)
        {
            throw new UserError($"Cannot listen on {string.Join(", ", options.Urls)}: {e.Message}");
        }
        IEnumerable<string> bound = (IEnumerable<string>?)app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? options.Urls;
        Console.Error.WriteLine($"serve: {what}");
        foreach (var a in bound) Console.Error.WriteLine($"serve: listening on {a} ({page} at {a}/, Ctrl+C to stop)");
        app.WaitForShutdown();
        return 0;
    }
}
