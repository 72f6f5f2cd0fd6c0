namespace SaeGuard.Serving;

/// <summary>The SAE a guard reads.</summary>
public sealed record SaeInfo
{
    public int DIn { get; init; }
    public int DSae { get; init; }
    public string Architecture { get; init; } = "";
    public int K { get; init; }
}
