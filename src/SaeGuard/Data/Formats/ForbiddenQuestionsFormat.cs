namespace SaeGuard.Data.Formats;

/// <summary>
/// The "forbidden question set" of jailbreak_llms (<c>content_policy_id,content_policy_name,q_id,question</c>):
/// 13 scenarios × 30 questions, the scenario name as category. The eight clearly harmful scenarios
/// are labelled harmful; the five regulated-advice ones (political lobbying, legal opinion, financial
/// advice, health consultation, government decision) are left unlabelled unless --label is given.
/// </summary>
public static class ForbiddenQuestionsFormat
{
    static readonly HashSet<string> RegulatedAdvice = new(StringComparer.OrdinalIgnoreCase)
    {
        "Political Lobbying", "Legal Opinion", "Financial Advice", "Health Consultation", "Gov Decision",
    };

    public static IEnumerable<DocRecord> Read(string path, CorpusReadOptions o)
    {
        var opts = DataFormats.WithDefaults(o, textColumn: "question", categoryColumn: "content_policy_name");
        foreach (var doc in TabularFile.Read(path, opts))
        {
            bool harmfulScenario = doc.Category == null || !RegulatedAdvice.Contains(doc.Category);
            yield return doc.Label == null && harmfulScenario ? doc with { Label = Labels.Harmful } : doc;
        }
    }
}
