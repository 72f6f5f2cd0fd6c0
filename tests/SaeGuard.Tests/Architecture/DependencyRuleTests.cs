namespace SaeGuard.Tests.Architecture;

/// <summary>
/// The dependency rule of docs/DESIGN.md: a stage of the SaeGuard library uses only the stages
/// before it. Checked on the compiled assembly (<see cref="StageDependencies"/>).
/// </summary>
public class DependencyRuleTests
{
    /// <summary>The stage order, earliest first; keep it equal to docs/DESIGN.md "Dependency rule".</summary>
    public static readonly string[] Order =
    {
        "Common", "IO", "Reports", "Models", "Data", "Activations", "Sae", "Interop", "Analysis", "Probes", "Eval", "Features", "Serving",
    };

    [Fact]
    public void Stages_use_only_earlier_stages()
    {
        var edges = StageDependencies.Edges(typeof(SaeGuard.Common.UserError).Assembly, "SaeGuard");
        Assert.NotEmpty(edges); // the scan sees uses at all (e.g. Probes → Sae)
        Assert.Contains(edges, e => e.From == "Probes" && e.To == "Sae");
        var bad = StageDependencies.Violations(edges, Order);
        File.WriteAllLines(Path.Combine(AppContext.BaseDirectory, "stage-edges.txt"), edges.Select(e => $"{e.From} -> {e.To}: {e.FromType} uses {e.ToType}"));
        Assert.True(bad.Count == 0, "Stages that use a later stage:\n" + string.Join("\n", bad));
    }

    [Fact]
    public void The_checker_finds_planted_violations()
    {
        // Plant.* (below) is a little library inside the test assembly: Common uses Serving three ways.
        var edges = StageDependencies.Edges(typeof(Plant.Common.Early).Assembly, "SaeGuard.Tests.Architecture.Plant");
        var bad = StageDependencies.Violations(edges, new[] { "Common", "Serving" });
        Assert.Contains(bad, b => b.Contains("Common → Serving") && b.Contains("Plant.Common.Early") && b.Contains("Plant.Serving.Late"));
        Assert.Contains(bad, b => b.Contains("Common → Serving") && b.Contains("Plant.Common.BySignature"));
        Assert.Contains(bad, b => b.Contains("Common → Serving") && b.Contains("Plant.Common.ByLambda"));
        Assert.Contains(bad, b => b.Contains("Common → Serving") && b.Contains("Plant.Common.ByStaticCall"));
        // the allowed direction is not reported
        Assert.DoesNotContain(bad, b => b.Contains("Plant.Serving.UsesCommon"));
        Assert.Contains(edges, e => e.FromType.EndsWith("Plant.Serving.UsesCommon") && e.To == "Common");
        // an unknown stage is reported too
        Assert.Contains(StageDependencies.Violations(edges, new[] { "Common" }), b => b.Contains("'Serving'"));
        // the other order flags only the use that is then backwards
        Assert.All(StageDependencies.Violations(edges, new[] { "Serving", "Common" }), b => Assert.Contains("Plant.Serving.UsesCommon", b));
    }
}
