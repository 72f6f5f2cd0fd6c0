namespace SaeGuard.Data.Formats;

/// <summary>The six harm clusters of the Galtea red-teaming set, by cluster id.</summary>
public static class HarmCategories
{
    public const string Ambiguous = "ambiguous requests";
    public const string JailbreakRoleplay = "jailbreak & roleplay";
    public const string FinancialFraud = "financial stuff & fraud";
    public const string ToxicityHate = "toxicity & hate speech";
    public const string ViolenceIllegal = "violence & illegal activities";
    public const string Privacy = "privacy violations";

    public static readonly IReadOnlyList<string> GalteaClusters =
        new[] { Ambiguous, JailbreakRoleplay, FinancialFraud, ToxicityHate, ViolenceIllegal, Privacy };
}
