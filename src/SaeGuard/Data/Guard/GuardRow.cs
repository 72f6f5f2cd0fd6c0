namespace SaeGuard.Data.Guard;

/// <summary>What a guard-set row is: a plain request, a benign look-alike, or a request wrapped in a jailbreak template.</summary>
public static class GuardKinds
{
    public const string PlainHarmful = "plain_harmful";
    public const string PlainBenign = "plain_benign";
    public const string Lookalike = "lookalike";
    public const string WrappedHarmful = "wrapped_harmful";
    public const string WrappedBenign = "wrapped_benign";

    public static readonly IReadOnlyList<string> All = new[] { PlainHarmful, PlainBenign, Lookalike, WrappedHarmful, WrappedBenign };
}

public static class GuardSplits
{
    public const string Train = "train";
    public const string Validation = "val";
    public const string Test = "test";

    public static readonly IReadOnlyList<string> All = new[] { Train, Validation, Test };
}

/// <summary>
/// One labelled prompt of a guard set with its provenance: the file and 1-based data row of the base
/// prompt, the template that wrapped it (empty for plain rows) and the file/row the template came from.
/// </summary>
public sealed record GuardRow
{
    public required string Text { get; init; }
    /// <summary>"harmful" or "benign".</summary>
    public required string Label { get; init; }
    public required string Kind { get; init; }
    public required string Split { get; init; }
    /// <summary>Category of the base prompt (harm category, look-alike kind, or "benign").</summary>
    public string Category { get; init; } = "";
    public required string Source { get; init; }
    public int Row { get; init; }
    public string Template { get; init; } = "";
    public string TemplateSource { get; init; } = "";
    /// <summary>The request that was wrapped (the row's text for plain rows).</summary>
    public string BaseText { get; init; } = "";

    public bool IsHarmful => Label == Labels.Harmful;
}
