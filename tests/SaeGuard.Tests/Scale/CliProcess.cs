using System.Diagnostics;

namespace SaeGuard.Tests.Scale;

/// <summary>The CLI as a separate operating-system process (<c>dotnet SaeGuard.Cli.dll …</c>), as a worker of a Job or array runs it.</summary>
static class CliProcess
{
    static string Dll => Path.Combine(AppContext.BaseDirectory, "SaeGuard.Cli.dll");
    static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";

    /// <summary>Environment for measured children (e.g. a GC heap limit); empty unless a test sets it.</summary>
    public static ProcessStartInfo Info(IEnumerable<string> args, string? peakRssFile = null, IReadOnlyDictionary<string, string>? env = null)
    {
        ProcessStartInfo psi;
        if (peakRssFile != null)
        {
            psi = new ProcessStartInfo("/usr/bin/time");
            foreach (var a in new[] { "-f", "%M", "-o", peakRssFile, Dotnet, Dll }) psi.ArgumentList.Add(a);
        }
        else
        {
            psi = new ProcessStartInfo(Dotnet);
            psi.ArgumentList.Add(Dll);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true; psi.RedirectStandardError = true; psi.UseShellExecute = false;
        psi.Environment["DOTNET_TieredPGO"] = "0";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return psi;
    }

    public static Process Start(params string[] args) => Process.Start(Info(args))!;

    public static (int Code, string Out, string Err) Run(params string[] args) => Wait(Start(args));

    /// <summary>Runs under /usr/bin/time and returns the child's peak resident set (VmHWM) in KB.</summary>
    public static (int Code, string Err, long PeakKb) RunMeasured(string rssFile, params string[] args) => RunMeasured(rssFile, null, args);

    /// <summary>As <see cref="RunMeasured(string, string[])"/>, with extra environment variables for the child.</summary>
    public static (int Code, string Err, long PeakKb) RunMeasured(string rssFile, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var (code, _, err) = Wait(Process.Start(Info(args, rssFile, env))!);
        var kb = File.Exists(rssFile) ? File.ReadAllLines(rssFile).Select(l => long.TryParse(l.Trim(), out var v) ? v : -1).LastOrDefault(v => v > 0) : -1;
        return (code, err, kb);
    }

    public static (int Code, string Out, string Err) Wait(Process p, int timeoutMs = 180_000)
    {
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs)) { p.Kill(true); throw new TimeoutException($"CLI process did not finish in {timeoutMs / 1000}s: {e.Result}"); }
        p.WaitForExit();
        return (p.ExitCode, o.Result, e.Result);
    }
}
