using Microsoft.Extensions.Options;
using SaeGuard.Common;
using SaeGuard.Probes;

namespace SaeGuard.Server;

/// <summary>Checks <see cref="SaeGuardOptions"/> before the guard loads: the probe folder exists and
/// holds what probe.json names, and the limits are positive. Messages start with "SaeGuard:".</summary>
sealed class SaeGuardOptionsValidator(IEnumerable<PreloadedGuard> preloaded) : IValidateOptions<SaeGuardOptions>
{
    readonly bool _preloaded = preloaded.Any();

    public ValidateOptionsResult Validate(string? name, SaeGuardOptions o)
    {
        var errors = new List<string>();
        if (_preloaded) { } // the host loaded the guard itself
        else if (o.UseBuiltInGuard && o.ProbePath != null)
            errors.Add("set either ProbePath or UseBuiltInGuard, not both.");
        else if (!o.UseBuiltInGuard)
        {
            if (string.IsNullOrWhiteSpace(o.ProbePath))
                errors.Add("ProbePath is not set: give the folder made by 'saeguard probe' (options.ProbePath = \"…\"), or set UseBuiltInGuard.");
            else ProbeFolderErrors(o.ProbePath, errors);
        }
        if (o.Threads < 0) errors.Add($"Threads must be 0 (the runtime's default) or more, got {o.Threads}.");
        if (o.TopFeatures < 0) errors.Add($"TopFeatures must be 0 or more, got {o.TopFeatures}.");
        var s = o.Server;
        if (s == null) errors.Add("Server options are null.");
        else
        {
            Positive(s.MaxBodyBytes, nameof(s.MaxBodyBytes), errors);
            Positive(s.MaxTextsPerRequest, nameof(s.MaxTextsPerRequest), errors);
            Positive(s.MaxTextChars, nameof(s.MaxTextChars), errors);
            Positive(s.MaxBatch, nameof(s.MaxBatch), errors);
            Positive(s.QueueCapacity, nameof(s.QueueCapacity), errors);
            if (s.BatchWindow < TimeSpan.Zero) errors.Add($"Server.BatchWindow must be 0 or more, got {s.BatchWindow}.");
            if (s.AnalysisReportDir != null && !Directory.Exists(s.AnalysisReportDir))
                errors.Add($"Server.AnalysisReportDir: report folder not found: '{s.AnalysisReportDir}'.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "SaeGuard: " + e));
    }

    static void ProbeFolderErrors(string dir, List<string> errors)
    {
        ProbeManifest m;
        try { m = ProbeManifest.Load(dir); }
        catch (UserError e)
        {
            errors.Add($"ProbePath: {e.Message}");
            return;
        }
        if (!Directory.Exists(Path.Combine(dir, m.Sae))) errors.Add($"ProbePath: probe folder '{dir}' is missing its SAE folder '{m.Sae}'.");
        foreach (var file in new[] { m.Weights, m.Features })
            if (!File.Exists(Path.Combine(dir, file))) errors.Add($"ProbePath: probe folder '{dir}' is missing '{file}'.");
    }

    static void Positive(long value, string name, List<string> errors)
    {
        if (value <= 0) errors.Add($"Server.{name} must be positive, got {value}.");
    }
}
