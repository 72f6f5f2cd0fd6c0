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
        return ServeHost.Run(quiet => FeatureServer.Build(set, options, quiet), options,
            $"feature dashboard of {set.Info.DSae:N0} features over {set.Info.Tokens:N0} tokens", "dashboard");
    }
}
