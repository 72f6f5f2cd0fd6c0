using SaeGuard.Models;
using SaeGuard.Serving;

namespace SaeGuard.Server;

/// <summary>
/// What <see cref="SaeGuardServiceCollectionExtensions.AddSaeGuard(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{SaeGuardOptions})"/>
/// loads: a <c>saeguard probe</c> folder (<see cref="ProbePath"/>) or the built-in guard, and the
/// endpoints' limits. Checked when the host starts (a missing or broken folder stops it with the reason).
/// </summary>
public sealed class SaeGuardOptions
{
    /// <summary>The probe folder made by <c>saeguard probe</c> (holds probe.json).</summary>
    public string? ProbePath { get; set; }
    /// <summary>Serve the guard built into the package instead of a probe folder (exclusive with <see cref="ProbePath"/>).</summary>
    public bool UseBuiltInGuard { get; set; }
    /// <summary>Overrides the model recorded in probe.json (e.g. the ONNX file moved).</summary>
    public string? Model { get; set; }
    /// <summary>Model threads (0 = the runtime's default).</summary>
    public int Threads { get; set; }
    /// <summary>Features reported per verdict.</summary>
    public int TopFeatures { get; set; } = ProbeGuard.DefaultTopFeatures;
    /// <summary>Where model names resolve (built-in models by default).</summary>
    public ModelSources Models { get; set; } = ModelSources.BuiltIn;
    /// <summary>Request limits, batching and the analysis report folder of the endpoints
    /// (<see cref="GuardServerOptions.Urls"/> and <see cref="GuardServerOptions.AllowRemote"/> only
    /// apply to the standalone server; an existing app listens where it listens).</summary>
    public GuardServerOptions Server { get; set; } = new();
}
