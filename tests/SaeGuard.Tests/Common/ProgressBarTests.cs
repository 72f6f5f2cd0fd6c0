using SaeGuard.Common;

namespace SaeGuard.Tests.Common;

public class ProgressBarTests
{
    static string[] Lines(StringWriter w) => w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Redirected_output_gets_the_first_line_and_the_last_once()
    {
        var w = new StringWriter();
        using (var bar = new ProgressBar("extract", 1000, "tok", w, interactive: false))
        {
            bar.Advance(10, 40);
            for (int i = 0; i < 98; i++) bar.Advance(10, 40);   // within the 5 s gap: no lines
            bar.Advance(10, 40, extra: "EV 0.9");               // reaches the total: one line
        }
        var lines = Lines(w);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("extract: 10/1,000   1.0% | ", lines[0]);
        Assert.Contains("tok/s | ETA ", lines[0]);
        Assert.StartsWith("extract: 1,000/1,000 100.0% | ", lines[1]);
        Assert.Contains("tok/s | in 0:0", lines[1]);
        Assert.EndsWith("EV 0.9", lines[1]);
    }

    [Fact]
    public void Unknown_total_prints_a_count_and_one_final_line()
    {
        var w = new StringWriter();
        using (var bar = new ProgressBar("analyze", 0, "tokens", w, interactive: false))
            for (int i = 0; i < 50; i++) bar.Advance(97);
        var lines = Lines(w);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("analyze: 97 | ", lines[0]);
        Assert.StartsWith("analyze: 4,850 | ", lines[1]);
        Assert.Contains("tokens/s | in ", lines[1]);
    }

    [Fact]
    public void A_terminal_redraws_in_place_and_ends_the_line()
    {
        var w = new StringWriter();
        using (var bar = new ProgressBar("train", 4, "tok", w, interactive: true))
            for (int i = 0; i < 4; i++) bar.Advance(1);
        var s = w.ToString();
        Assert.StartsWith("\rtrain: 1/4", s);
        Assert.Equal(1, s.Count(c => c == '\n'));
        Assert.EndsWith("\n", s);
        Assert.Contains("\rtrain: 4/4 100.0%", s);
    }
}
