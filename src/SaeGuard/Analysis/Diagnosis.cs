using System.Globalization;

namespace SaeGuard.Analysis;

/// <summary>One explanation of dense or odd codes, with the numbers that decided it.</summary>
public sealed record Hypothesis
{
    /// <summary>"H1", "H2", "H3" or "AXIS".</summary>
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required bool Supported { get; init; }
    /// <summary>Plain-language evidence with the numbers.</summary>
    public required string Evidence { get; init; }
    /// <summary>What to change (training or input) when supported.</summary>
    public string Advice { get; init; } = "";
    /// <summary>The decisive numbers, machine-readable (null = not measurable for this input).</summary>
    public Dictionary<string, double?> Numbers { get; init; } = new();
}

public sealed record Diagnosis
{
    /// <summary>"sparse", "dense" or "suspicious".</summary>
    public required string Verdict { get; init; }
    public required string VerdictReason { get; init; }
    public required IReadOnlyList<Hypothesis> Hypotheses { get; init; }
    public IEnumerable<Hypothesis> Supported => Hypotheses.Where(h => h.Supported);
}

/// <summary>The thresholds the rules use (listed in the report so a reader can judge them).</summary>
public sealed record DiagnosisThresholds
{
    /// <summary>Sparse when mean L0 ≤ min(SparseFraction·width, SparseMaxL0).</summary>
    public double SparseFraction { get; init; } = 0.05;
    public double SparseMaxL0 { get; init; } = 512;
    /// <summary>"Slowly decreasing with eps": mean active at eps = 0.01 keeps at least this share of L0.</summary>
    public double SlowEpsRetention { get; init; } = 0.5;
    /// <summary>"Many always-on features": this share of features fire on more than 99% of tokens.</summary>
    public double AlwaysOnShare { get; init; } = 0.05;
    /// <summary>Offset dominates when the mean vector carries this share of the codes' energy.</summary>
    public double OffsetEnergyShare { get; init; } = 0.6;
    /// <summary>SAE-side offset: this share of latents positive at x = b_dec, or with mean pre-activation &gt; 0.</summary>
    public double PositiveLatentShare { get; init; } = 0.5;
    /// <summary>Scale mismatch when mean ‖x‖ differs from the training scale by more than this factor.</summary>
    public double NormRatio { get; init; } = 2;
    /// <summary>Scale probe: another input scale improves explained variance by at least this.</summary>
    public double ProbeGain { get; init; } = 0.1;
    /// <summary>Not codes: at least this share of values negative.</summary>
    public double NegativeShare { get; init; } = 0.01;
    /// <summary>"Small" L1 coefficient in the SAE's training config.</summary>
    public double SmallL1 { get; init; } = 1e-2;

    public static readonly DiagnosisThresholds Default = new();
}

static class Fmt
{
    public static string N(double v, int digits = 3)
    {
        if (double.IsNaN(v)) return "n/a";
        if (double.IsInfinity(v)) return v > 0 ? "+inf" : "-inf";
        double a = Math.Abs(v);
        if (a != 0 && (a < 1e-3 || a >= 1e6)) return v.ToString("0.###e+0", CultureInfo.InvariantCulture);
        if (a >= 100) return v.ToString("#,0.#", CultureInfo.InvariantCulture);
        return v.ToString("0." + new string('#', digits), CultureInfo.InvariantCulture);
    }

    public static string Pct(double frac) => double.IsNaN(frac) ? "n/a" : (100 * frac).ToString(frac < 0.001 && frac > 0 ? "0.####" : "0.#", CultureInfo.InvariantCulture) + "%";
    public static string Int(long v) => v.ToString("#,0", CultureInfo.InvariantCulture);
}
