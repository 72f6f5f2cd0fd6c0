using System.Diagnostics;
using SaeGuard.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace SaeGuard.Tests.Scale;

/// <summary>The Kubernetes, Slurm and Docker recipes of deploy/ and the Dockerfile run as they are.</summary>
public class DeployRecipeTests
{
    static string Repo(params string[] p) => Path.Combine(new[] { TestPaths.RepoRoot }.Concat(p).ToArray());

    static YamlMappingNode Map(YamlNode n, string key)
    {
        Assert.True(n is YamlMappingNode m && m.Children.ContainsKey(key), $"missing mapping '{key}'");
        return Assert.IsType<YamlMappingNode>(((YamlMappingNode)n)[key]);
    }

    static string Scalar(YamlNode n, string key)
    {
        Assert.True(n is YamlMappingNode m && m.Children.ContainsKey(key), $"missing field '{key}'");
        return Assert.IsType<YamlScalarNode>(((YamlMappingNode)n)[key]).Value!;
    }

    static List<string> Args(YamlMappingNode container) =>
        ((YamlSequenceNode)container["args"]).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();

    [Fact]
    public void Kubernetes_indexed_job_maps_the_completion_index_to_the_shard()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Repo("deploy", "kubernetes", "extract-job.yaml"))));
        var job = (YamlMappingNode)yaml.Documents.Single().RootNode;
        Assert.Equal("batch/v1", Scalar(job, "apiVersion"));
        Assert.Equal("Job", Scalar(job, "kind"));
        Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", Scalar(Map(job, "metadata"), "name"));
        var spec = Map(job, "spec");
        Assert.Equal("Indexed", Scalar(spec, "completionMode"));
        int completions = int.Parse(Scalar(spec, "completions"));
        Assert.InRange(int.Parse(Scalar(spec, "parallelism")), 1, completions);
        var pod = Map(Map(spec, "template"), "spec");
        Assert.Contains(Scalar(pod, "restartPolicy"), new[] { "Never", "OnFailure" });
        var container = Assert.IsType<YamlMappingNode>(((YamlSequenceNode)pod["containers"]).Children.Single());
        Assert.False(string.IsNullOrEmpty(Scalar(container, "image")));
        var env = ((YamlSequenceNode)container["env"]).Children.Cast<YamlMappingNode>().ToDictionary(e => Scalar(e, "name"), e => Scalar(e, "value"));
        Assert.Equal(completions.ToString(), env["SHARD_COUNT"]);
        var args = Args(container);
        Assert.Equal("extract", args[0]);
        Assert.Equal("$(JOB_COMPLETION_INDEX)/$(SHARD_COUNT)", args[args.IndexOf("--shard") + 1]);
        Assert.Contains("$(JOB_COMPLETION_INDEX)", args[args.IndexOf("--out") + 1]);
        // every mounted volume is declared, and the CLI accepts these options
        var volumes = ((YamlSequenceNode)pod["volumes"]).Children.Select(v => Scalar(v, "name")).ToHashSet();
        Assert.All(((YamlSequenceNode)container["volumeMounts"]).Children, m => Assert.Contains(Scalar(m, "name"), volumes));
        var concrete = args.Select(a => a.Replace("$(JOB_COMPLETION_INDEX)", "3").Replace("$(SHARD_COUNT)", env["SHARD_COUNT"])).ToList();
        Assert.Equal("3/8", concrete[concrete.IndexOf("--shard") + 1]);
        var parse = SaeGuard.Cli.Program.BuildRoot().Parse(concrete.ToArray());
        Assert.Empty(parse.Errors);

        var merge = new YamlStream();
        merge.Load(new StringReader(File.ReadAllText(Repo("deploy", "kubernetes", "merge-job.yaml"))));
        var margs = Args((YamlMappingNode)((YamlSequenceNode)Map(Map(Map((YamlMappingNode)merge.Documents.Single().RootNode, "spec"), "template"), "spec")["containers"]).Children.Single());
        Assert.Equal(new[] { "acts", "merge" }, margs.Take(2));
        Assert.Equal(completions, margs.Count(a => a.StartsWith("/acts/shard-")));
        Assert.Empty(SaeGuard.Cli.Program.BuildRoot().Parse(margs.ToArray()).Errors);
    }

    static (int Code, string Out, string Err) Bash(string script, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync(); var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit(60_000);
        return (p.ExitCode, o.Result, e.Result);
    }

    [Fact]
    public void Slurm_array_script_parses_and_passes_the_task_id_as_the_shard()
    {
        var script = Repo("deploy", "slurm", "extract.sbatch");
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-n"); psi.ArgumentList.Add(script);
        using (var p = Process.Start(psi)!) { var syntax = p.StandardError.ReadToEnd(); p.WaitForExit(); Assert.True(p.ExitCode == 0, syntax); }
        Assert.Contains("#SBATCH --array=", File.ReadAllText(script));

        using var tmp = new TempDir();
        var stub = tmp["saeguard-stub"];
        File.WriteAllText(stub, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$STUB_LOG\"\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(stub, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var env = new Dictionary<string, string>
        {
            ["SLURM_ARRAY_TASK_ID"] = "2", ["SLURM_ARRAY_TASK_COUNT"] = "4", ["SLURM_CPUS_PER_TASK"] = "6",
            ["SAEGUARD"] = stub, ["STUB_LOG"] = tmp["args.txt"], ["OUT"] = tmp["acts"], ["CORPUS"] = "/data/c.jsonl", ["MODEL"] = "minilm",
        };
        var (code, _, err) = Bash(script, env);
        Assert.True(code == 0, err);
        var args = File.ReadAllLines(tmp["args.txt"]).ToList();
        Assert.Equal("extract", args[0]);
        Assert.Equal("2/4", args[args.IndexOf("--shard") + 1]);
        Assert.Equal(Path.Combine(tmp["acts"], "shard-2"), args[args.IndexOf("--out") + 1]);
        Assert.Equal("6", args[args.IndexOf("--threads") + 1]);
        Assert.Equal("/data/c.jsonl", args[args.IndexOf("--input") + 1]);
        Assert.Empty(SaeGuard.Cli.Program.BuildRoot().Parse(args.ToArray()).Errors);

        env["SLURM_ARRAY_TASK_ID"] = "4";
        Assert.Equal(1, Bash(script, env).Code);                     // outside the array
        env.Remove("SLURM_ARRAY_TASK_ID");
        Assert.NotEqual(0, Bash(script, env).Code);                  // not run as an array task
    }

    [Fact]
    public void Dockerfile_builds_a_self_contained_image_or_reports_why_not()
    {
        var dockerfile = File.ReadAllText(Repo("Dockerfile"));
        var stages = dockerfile.Split('\n').Where(l => l.StartsWith("FROM ")).ToList();
        Assert.Equal(2, stages.Count);
        Assert.Contains("--self-contained true", dockerfile);
        Assert.Contains("runtime-deps", stages[^1]);          // the final image has no SDK and no shared runtime
        Assert.DoesNotContain("sdk", stages[^1]);

        string? why = null;
        if (!File.Exists("/usr/bin/docker") && !File.Exists("/usr/local/bin/docker")) why = "docker is not installed";
        else
        {
            var info = Run("docker", "info", "--format", "{{.ServerVersion}}");
            if (info.Code != 0) why = "the docker daemon is not reachable: " + info.Err.Trim().Split('\n')[0];
        }
        if (why != null)
        {
            Console.WriteLine($"Dockerfile build not run: {why}.");
            return;
        }
        var tag = "saeguard-test:" + Guid.NewGuid().ToString("N")[..8];
        var build = Run("docker", "build", "-t", tag, TestPaths.RepoRoot);
        if (build.Code != 0 && (build.Err.Contains("pull access denied") || build.Err.Contains("failed to resolve") || build.Err.Contains("dial tcp")))
        {
            Console.WriteLine($"Dockerfile build not run: the base images cannot be pulled here ({build.Err.Trim().Split('\n').Last()}).");
            return;
        }
        Assert.True(build.Code == 0, build.Err);
        try
        {
            var help = Run("docker", "run", "--rm", tag, "acts", "merge", "--help");
            Assert.True(help.Code == 0, help.Err);
            Assert.Contains("--out", help.Out);
            Assert.NotEqual(0, Run("docker", "run", "--rm", "--entrypoint", "dotnet", tag, "--info").Code);   // no SDK/host inside
        }
        finally { Run("docker", "rmi", "-f", tag); }
    }

    static (int Code, string Out, string Err) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync(); var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(1_200_000)) { p.Kill(true); return (-1, "", "timed out"); }
        return (p.ExitCode, o.Result, e.Result);
    }
}
