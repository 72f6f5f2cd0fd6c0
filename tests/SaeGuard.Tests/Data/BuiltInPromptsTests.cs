using System.Text.RegularExpressions;
using nietras.SeparatedValues;
using SaeGuard.Data;
using SaeGuard.Data.BuiltIn;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Data;

public class BuiltInPromptsTests
{
    static readonly IReadOnlyList<BuiltInPrompt> Rows = BuiltInPrompts.LoadRows();

    static string Normalise(string text) => Regex.Replace(text.Trim().ToLowerInvariant(), @"\s+", " ");
    static int Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
    static List<BuiltInPrompt> Of(string label) => Rows.Where(r => r.Label == label).ToList();

    [Fact]
    public void Counts_per_label_and_category_meet_the_minimums()
    {
        var harmful = Of(Labels.Harmful);
        var benign = Of(Labels.Benign);
        Assert.True(harmful.Count >= 330, $"harmful rows: {harmful.Count}");
        Assert.True(benign.Count >= 330, $"benign rows: {benign.Count}");
        foreach (var category in BuiltInPrompts.HarmCategories)
        {
            int n = harmful.Count(r => r.Category == category);
            Assert.True(n >= 55, $"category '{category}': {n} harmful rows");
        }
        int lookalikes = benign.Count(r => r.Category == BuiltInPrompts.LookalikeCategory);
        Assert.True(lookalikes >= 80, $"benign look-alikes: {lookalikes}");
        Assert.Equal(Rows.Count, harmful.Count + benign.Count);
    }

    [Fact]
    public void Raw_labels_categories_and_styles_are_from_the_allowed_sets()
    {
        using var dir = new TempDir();
        var path = BuiltInPrompts.WriteCsvTo(dir.Path);
        using var reader = Sep.Reader(o => o with { Unescape = true }).FromFile(path);
        Assert.Equal(new[] { "text", "label", "category", "style" }, reader.Header.ColNames);
        int row = 1;
        foreach (var r in reader)
        {
            row++;
            var label = r["label"].ToString();
            var category = r["category"].ToString();
            Assert.True(label is "harmful" or "benign", $"row {row}: label '{label}'");
            var allowed = label == "harmful" ? BuiltInPrompts.HarmCategories : new[] { BuiltInPrompts.BenignCategory, BuiltInPrompts.LookalikeCategory };
            Assert.True(allowed.Contains(category), $"row {row}: category '{category}' for a {label} row");
            Assert.True(r["style"].ToString() is "question" or "imperative" or "roleplay", $"row {row}: style '{r["style"]}'");
            Assert.False(string.IsNullOrWhiteSpace(r["text"].ToString()), $"row {row}: empty text");
        }
        Assert.Equal(Rows.Count + 1, row);
    }

    [Fact]
    public void No_text_appears_twice_after_case_and_whitespace_normalisation()
    {
        var dups = Rows.GroupBy(r => Normalise(r.Text)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(dups);
    }

    [Fact]
    public void Load_gives_documents_in_file_order_with_builtin_source()
    {
        var docs = BuiltInPrompts.Load();
        Assert.Equal(Rows.Count, docs.Count);
        for (int i = 0; i < docs.Count; i++)
        {
            Assert.Equal(i, docs[i].Id);
            Assert.Equal(Rows[i].Text, docs[i].Text);
            Assert.Equal(Rows[i].Label, docs[i].Label);
            Assert.Equal(Rows[i].Category, docs[i].Category);
            Assert.Equal("builtin", docs[i].Source);
        }
        // The file holds texts with commas and quotes; the CSV quoting must survive the round trip.
        Assert.Contains(docs, d => d.Text.Contains(','));
        Assert.Contains(docs, d => d.Text.Contains('"'));
    }

    [Fact]
    public void Written_csv_reads_back_through_the_corpus_reader_unchanged()
    {
        using var dir = new TempDir();
        var path = BuiltInPrompts.WriteCsvTo(dir["prompts.csv"]);
        Assert.Equal(dir["prompts.csv"], path);
        var read = CorpusReader.Read(path, new CorpusReadOptions { LabelColumn = "label", CategoryColumn = "category" }).ToList();
        var docs = BuiltInPrompts.Load();
        Assert.Equal(docs.Count, read.Count);
        for (int i = 0; i < docs.Count; i++)
        {
            Assert.Equal(docs[i].Text, read[i].Text);
            Assert.Equal(docs[i].Label, read[i].Label);
            Assert.Equal(docs[i].Category, read[i].Category);
        }
    }

    [Fact]
    public void Word_length_distributions_of_harmful_and_benign_match()
    {
        var h = Of(Labels.Harmful).Select(r => Words(r.Text)).ToArray();
        var b = Of(Labels.Benign).Select(r => Words(r.Text)).ToArray();
        Assert.True(Math.Abs(Median(h) - Median(b)) <= 3, $"median words harmful {Median(h)} vs benign {Median(b)}");
        // Two-sample Kolmogorov–Smirnov: at alpha = 0.05 the critical value is
        // 1.36 * sqrt((n + m) / (n * m)), about 0.10 for ~360 rows a side. Staying below it means
        // the length distributions are statistically indistinguishable, so length alone cannot
        // separate the classes.
        double critical = 1.36 * Math.Sqrt((double)(h.Length + b.Length) / ((double)h.Length * b.Length));
        double d = KolmogorovSmirnov(h, b);
        Assert.True(d < critical, $"KS statistic {d:F3} >= critical value {critical:F3}");
        // Short prompts: at least 90% of each class has 6–25 words.
        Assert.True(h.Count(n => n is >= 6 and <= 25) >= 0.9 * h.Length);
        Assert.True(b.Count(n => n is >= 6 and <= 25) >= 0.9 * b.Length);
    }

    [Fact]
    public void Both_classes_mix_questions_imperatives_and_roleplay_in_similar_shares()
    {
        foreach (var label in new[] { Labels.Harmful, Labels.Benign })
        {
            var rows = Of(label);
            double Share(string style) => rows.Count(r => r.Style == style) / (double)rows.Count;
            Assert.True(Share("question") >= 0.25, $"{label}: questions {Share("question"):P0}");
            Assert.True(Share("imperative") >= 0.25, $"{label}: imperatives {Share("imperative"):P0}");
            Assert.True(Share("roleplay") >= 0.05, $"{label}: roleplay {Share("roleplay"):P0}");
        }
        double QuestionMarks(string label) => Of(label).Count(r => r.Text.TrimEnd().EndsWith('?')) / (double)Of(label).Count;
        Assert.True(Math.Abs(QuestionMarks(Labels.Harmful) - QuestionMarks(Labels.Benign)) < 0.1,
            $"share ending in '?': harmful {QuestionMarks(Labels.Harmful):P0}, benign {QuestionMarks(Labels.Benign):P0}");
    }

    [Fact]
    public void No_text_is_copied_from_the_shared_public_sets()
    {
        var sets = new (string[] Path, string? Column)[]
        {
            (new[] { "advbench", "harmful_behaviors.csv" }, "goal"),
            (new[] { "malicious_instruct", "MaliciousInstruct.txt" }, null),
            (new[] { "gptfuzz", "question_list.csv" }, "text"),
            (new[] { "jailbreak_llms", "forbidden_question_set.csv" }, "question"),
            (new[] { "refusal_direction_alpaca", "harmless_train.json" }, "instruction"),
            (new[] { "refusal_direction_alpaca", "harmless_val.json" }, "instruction"),
            (new[] { "self_instruct", "seed_tasks.jsonl" }, "instruction"),
            (new[] { "self_instruct", "user_oriented_instructions.jsonl" }, "instruction"),
            (new[] { "alpaca_eval", "text_davinci_003_model_outputs.first400.json" }, "instruction"),
        };
        var ours = Rows.Select(r => Normalise(r.Text)).ToHashSet();
        int checkedTexts = 0;
        foreach (var (parts, column) in sets)
        {
            var path = TestPaths.SharedData(parts);
            Assert.True(File.Exists(path), $"shared data file missing: {path}");
            foreach (var doc in CorpusReader.Read(path, new CorpusReadOptions { TextColumn = column }))
            {
                checkedTexts++;
                Assert.False(ours.Contains(Normalise(doc.Text)), $"'{doc.Text}' from {string.Join('/', parts)} is in the built-in set");
            }
        }
        Assert.True(checkedTexts > 26000, $"only {checkedTexts} public texts were read");
    }

    [Fact]
    public void Kolmogorov_smirnov_matches_a_hand_computed_value()
    {
        // ECDFs of {1,2,3} and {2,3,4,5}: at x = 1 they differ by 1/3, at 2 by 2/3 - 1/4, at 3 by 1 - 1/2 = 0.5.
        Assert.Equal(0.5, KolmogorovSmirnov(new[] { 1, 2, 3 }, new[] { 2, 3, 4, 5 }), 12);
        Assert.Equal(0.0, KolmogorovSmirnov(new[] { 4, 1, 2 }, new[] { 2, 4, 1 }), 12);
        Assert.Equal(2.5, Median(new[] { 4, 1, 3, 2 }));
    }

    static double Median(int[] xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2.0;
    }

    static double KolmogorovSmirnov(int[] a, int[] b)
    {
        double Cdf(int[] xs, int v) => xs.Count(x => x <= v) / (double)xs.Length;
        return a.Concat(b).Distinct().Max(v => Math.Abs(Cdf(a, v) - Cdf(b, v)));
    }
}
