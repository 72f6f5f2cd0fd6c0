using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SaeGuard.Common;
using SaeGuard.Features;
using SaeGuard.Server;

namespace SaeGuard.Cli.Commands;

/// <summary>`serve --sae DIR --acts DIR [--probe DIR]`: computes the feature pages, then serves the dashboard.</summary>
static class FeatureServe
{
    public static int Run(string? sae, string? acts, string? probe, GuardServerOptions options)
    {
        if (sae == null || acts == null) throw new UserError("serve: --sae and --acts go together (the SAE and the activations dump its feature pages are computed from).");
        var set = FeatureSetBuilder.Build(sae, acts, probe, new FeatureDashboardOptions());
        var app = FeatureServer.Build(set, options, b => b.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None));
        try { app.Start(); }
        catch (IOException e) { throw new UserError($"Cannot listen on {string.Join(", ", options.Urls)}: {e.Message}"); }
        IEnumerable<string> bound = (IEnumerable<string>?)app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? options.Urls;
        Console.Error.WriteLine($"serve: feature dashboard of {set.Info.DSae:N0} features over {set.Info.Tokens:N0} tokens");
        foreach (var a in bound) Console.Error.WriteLine($"serve: listening on {a} (dashboard at {a}/, Ctrl+C to stop)");
        app.WaitForShutdown();
        return 0;
    }
}
