using SaeGuard.Data.Guard;
using SaeGuard.Models;
using SaeGuard.Probes;

namespace SaeGuard.Bench;

/// <summary>Counts of a guard set per kind × split, with MiniLM token and window totals.</summary>
static class GuardSetStats
{
    public static void Print(IReadOnlyList<GuardRow> rows, int maxLength)
    {
        var tok = BuiltInModels.MiniLmTokenizer();
        Console.WriteLine("| kind | train | val | test | tokens (all) | windows (all) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var kind in GuardKinds.All)
        {
            var k = rows.Where(r => r.Kind == kind).ToList();
            long tokens = 0, windows = 0;
            foreach (var r in k)
            {
                var t = tok.Encode(r.Text, 1 << 20);
                tokens += t.Length;
                windows += TokenWindows.Split(t, maxLength).Count;
            }
            string C(string s) => k.Count(r => r.Split == s).ToString();
            Console.WriteLine($"| {kind} | {C(GuardSplits.Train)} | {C(GuardSplits.Validation)} | {C(GuardSplits.Test)} | {tokens:N0} | {windows:N0} |");
        }
        var templates = rows.Where(r => r.Template != "").GroupBy(r => r.Split).Select(g => $"{g.Key} {g.Select(r => r.Template).Distinct().Count()}");
        Console.WriteLine($"templates per split: {string.Join(", ", templates)}");
    }
}
