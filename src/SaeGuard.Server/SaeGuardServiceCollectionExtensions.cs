using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SaeGuard.Probes;
using SaeGuard.Serving;

namespace SaeGuard.Server;

/// <summary>Registers the guard in a host's services: <c>builder.Services.AddSaeGuard(o =&gt; o.ProbePath = "probe")</c>.</summary>
public static class SaeGuardServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LoadedGuard"/> and its <see cref="IGuardScorer"/> as singletons loaded from
    /// <see cref="SaeGuardOptions.ProbePath"/> (or the built-in guard) on first use, plus what
    /// <see cref="SaeGuardEndpointRouteBuilderExtensions.MapSaeGuard"/> needs. The options are
    /// validated when the host starts: a missing or broken probe folder stops it with an
    /// <see cref="OptionsValidationException"/> whose messages start with "SaeGuard:".
    /// </summary>
    public static IServiceCollection AddSaeGuard(this IServiceCollection services, Action<SaeGuardOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        services.TryAddSingleton(sp => Load(sp.GetRequiredService<IOptions<SaeGuardOptions>>().Value));
        return AddCore(services);
    }

    /// <summary>
    /// Registers a guard the host loaded itself (e.g. with <see cref="GuardLoader.Load"/>); the host
    /// keeps owning it (the container does not dispose it). <paramref name="configure"/> sets the
    /// endpoints' limits (<see cref="SaeGuardOptions.Server"/>); the probe options are unused.
    /// </summary>
    public static IServiceCollection AddSaeGuard(this IServiceCollection services, LoadedGuard guard, Action<SaeGuardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(guard);
        services.Configure<SaeGuardOptions>(o => configure?.Invoke(o));
        services.AddSingleton(new PreloadedGuard(guard));
        services.TryAddSingleton(guard);
        services.TryAddSingleton(guard.Scorer);
        return AddCore(services);
    }

    static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddLogging();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SaeGuardOptions>, SaeGuardOptionsValidator>());
        services.AddOptions<SaeGuardOptions>().ValidateOnStart();
        services.TryAddSingleton(sp => sp.GetRequiredService<LoadedGuard>().Scorer);
        services.TryAddSingleton(sp =>
        {
            var s = sp.GetRequiredService<IOptions<SaeGuardOptions>>().Value.Server;
            return new MicroBatcher(sp.GetRequiredService<IGuardScorer>().Score, s.MaxBatch, s.BatchWindow, s.QueueCapacity,
                sp.GetService<ILogger<MicroBatcher>>());
        });
        services.TryAddSingleton(sp =>
        {
            var guard = sp.GetRequiredService<LoadedGuard>();
            var s = sp.GetRequiredService<IOptions<SaeGuardOptions>>().Value.Server;
            return new GuardApi(guard, s, sp.GetRequiredService<MicroBatcher>(), new ReportFiles(guard.Directory),
                new ReportFiles(s.AnalysisReportDir), sp.GetService<ILogger<GuardApi>>() ?? NullLogger<GuardApi>.Instance);
        });
        return services;
    }

    static LoadedGuard Load(SaeGuardOptions o) => o.UseBuiltInGuard
        ? GuardLoader.LoadDefault(o.TopFeatures)
        : GuardLoader.Load(o.ProbePath!, new GuardLoadOptions { Model = o.Model, Threads = o.Threads, Models = o.Models }, o.TopFeatures);
}

/// <summary>Marks a guard handed to AddSaeGuard already loaded: the options name no folder to check.</summary>
sealed record PreloadedGuard(LoadedGuard Guard);
