using SaeGuard.Activations;
using SaeGuard.Analysis;
using SaeGuard.Common;
using SaeGuard.Probes;
using SaeGuard.Sae;

namespace SaeGuard.Features;

/// <summary>
/// Computes every feature page of an SAE over an activations dump in three streamed passes,
/// each encoding the dump with the SAE (<see cref="AnalysisInput"/> / <see cref="SaeEncodingPass"/>):
/// 1 statistics, top tokens, group counts and histograms (<see cref="FirstPass"/>); 2 interval
/// bands (<see cref="BandSampler"/>); 3 the activations around every chosen context
/// (<see cref="ContextCollector"/>). Memory: O(d_sae × (groups + histogram bins + examples)).
/// </summary>
public static class FeatureSetBuilder
{
    /// <param name="saeDir">The SAE folder (SAELens layout).</param>
    /// <param name="actsDir">The activations dump the SAE encodes (documents, tokens, labels, categories).</param>
    /// <param name="probeDir">A probe folder for each feature's weight and contribution (null: none).</param>
    /// <param name="options">Examples, bands, context, neighbours, prior and seed (defaults when null).</param>
    /// <param name="unembedding">A model's output matrix for the logit lens of each decoder row (<see cref="LogitLens"/>), or null.</param>
    public static FeatureSet Build(string saeDir, string actsDir, string? probeDir = null, FeatureDashboardOptions? options = null, Unembedding? unembedding = null)
    {
        var o = options ?? new FeatureDashboardOptions();
        o.Validate();
        var input = AnalysisInput.Open(actsDir, saeDir, includeSpecial: false, o.Seed);
        var sae = input.Sae!;
        var dump = ActivationDump.Open(actsDir);
        var weights = probeDir == null ? null : ProbeWeightsOf(probeDir, sae.DSae);
        var groups = new TokenGroups(dump.Docs);
        int m = sae.DSae;
        string TokenText(int id) => dump.TokenText(id) is { Length: > 0 } t ? t : $"[{id}]";

        var first = new FirstPass(m, groups, o);
        Stream(input, o, "features: statistics", first.Add);
        first.Acc.Flush();
        long n = first.Acc.Rows;
        if (n == 0) throw new UserError($"'{actsDir}' holds no ordinary (non-special) tokens to build feature pages from.");
        var max = Enumerable.Range(0, m).Select(j => first.Acc.Count[j] > 0 ? first.Acc.Max[j] : 0f).ToArray();

        var bands = new BandSampler(m, o, max, first.Top);
        if (o.Bands > 0) Stream(input, o, "features: bands", bands.Add);

        var ctx = new ContextCollector(m, o.ContextTokens);
        var asks = new (List<ContextCollector.Request> Top, List<ContextCollector.Request>[] Bands, List<ContextCollector.Request> Silent)[m];
        var rng = new Random(o.Seed ^ 0x51e7);
        for (int j = 0; j < m; j++)
        {
            var top = first.Top.Top(j).Select(h => ctx.Ask(j, h.Prompt, h.Position)).ToList();
            var bandAsks = Enumerable.Range(0, o.Bands).Select(b => bands.Of(j, b).Select(h => ctx.Ask(j, h.Prompt, h.Position)).ToList()).ToArray();
            var order = Enumerable.Range(0, first.Candidates.Count).ToArray();
            rng.Shuffle(order);
            var silent = order.Where(i => first.Candidates[i].Codes[j] == 0).Take(o.NonFiring)
                .Select(i => ctx.Ask(j, first.Candidates[i].Doc, first.Candidates[i].Position)).ToList();
            asks[j] = (top, bandAsks, silent);
        }
        Stream(input, o, "features: contexts", ctx.Add);

        var neighbours = DecoderNeighbours.Of(sae, o.Neighbours);
        var logits = unembedding == null ? null : LogitLens.Of(sae, unembedding);
        var labels = new string[m];
        for (int j = 0; j < m; j++) labels[j] = FeatureCatalog.LabelOf(first.Top.Top(j).Select(h => TokenText(h.TokenId)));

        ContextExample Ex(ContextCollector.Request q) => ContextCollector.ToExample(q, TokenText, groups);
        var pages = new FeaturePage[m];
        for (int j = 0; j < m; j++)
        {
            long fires = first.Acc.Count[j];
            double meanActive = fires == 0 ? 0 : first.Acc.SumPos[j] / fires;
            var bandList = new List<QuantileBand>();
            for (int b = 0; b < o.Bands && fires > 0; b++)
            {
                double hi = (double)max[j] * (o.Bands - b) / o.Bands, lo = (double)max[j] * (o.Bands - b - 1) / o.Bands;
                bandList.Add(new QuantileBand($"{lo:G3} – {hi:G3}", lo, hi, bands.Count[j * o.Bands + b], asks[j].Bands[b].Select(Ex).ToList()));
            }
            double? w = weights?[j];
            pages[j] = new FeaturePage
            {
                Id = j, Label = labels[j], Fires = fires, FiringRate = (double)fires / n, MeanActive = meanActive, Max = max[j],
                Top = asks[j].Top.Select(Ex).ToList(), Bands = bandList, NonFiring = asks[j].Silent.Select(Ex).ToList(),
                Histogram = LogHistogram.Trim(first.Hist.AsSpan((int)((long)j * LogHistogram.Bins), LogHistogram.Bins)),
                ByLabel = Groups(groups.Labels, first.LabelTokens, first.LabelFires, first.LabelSum, j, m, fires, n, o.Prior),
                ByCategory = Groups(groups.Categories, first.CategoryTokens, first.CategoryFires, first.CategorySum, j, m, fires, n, o.Prior),
                Neighbours = neighbours[j].Select(p => new Neighbour(p.Id, Math.Round(p.Cosine, 6), labels[p.Id])).ToList(),
                ProbeWeight = w, ProbeContribution = w * meanActive, Logits = logits?[j],
            };
        }
        var c = sae.Config;
        return new FeatureSet
        {
            Info = new FeatureSetInfo
            {
                Sae = Path.GetFullPath(saeDir), Acts = Path.GetFullPath(actsDir), Probe = probeDir == null ? null : Path.GetFullPath(probeDir),
                Model = dump.Meta.Model is { Length: > 0 } mm ? mm : c.Metadata.ModelName, Hook = dump.Meta.Hook, Layer = c.Metadata.Layer,
                DIn = sae.DIn, DSae = m, Tokens = n, Docs = dump.Docs.Count,
                Labels = groups.Labels.ToList(), Categories = groups.Categories.ToList(), Prior = o.Prior, LogitLens = unembedding?.Source,
            },
            Pages = pages,
        };
    }

    static List<GroupStat> Groups(IReadOnlyList<string> names, long[] tokens, long[] fires, double[] sums, int j, int m, long allFires, long allTokens, double prior) =>
        names.Select((g, i) =>
        {
            long f = fires[i * m + j], t = tokens[i];
            var sp = CategorySpecificity.Score(f, t, allFires - f, allTokens - t, prior);
            var (lor, lo, hi) = (sp.LogOdds, sp.Lower, sp.Upper);
            return new GroupStat
            {
                Group = g, Tokens = t, Fires = f, FiringRate = t == 0 ? 0 : (double)f / t, MeanActive = f == 0 ? 0 : sums[i * m + j] / f,
                Specificity = lor, SpecificityLow = lo, SpecificityHigh = hi,
            };
        }).ToList();

    /// <summary>The probe folder's per-feature decision weights as recorded in its features.json (<see cref="FeatureWeights"/>).</summary>
    static double[] ProbeWeightsOf(string probeDir, int m)
    {
        var manifest = ProbeManifest.Load(probeDir);
        if (manifest.DSae != m)
            throw new UserError($"Probe folder '{probeDir}' was trained on an SAE with {manifest.DSae} features, but --sae has {m}.");
        var catalog = FeatureCatalog.Load(Path.Combine(probeDir, ProbeManifest.FeaturesFile));
        var w = new double[m];
        foreach (var f in catalog.Features) if (f.Id >= 0 && f.Id < m) w[f.Id] = f.Weight;
        return w;
    }

    static void Stream(AnalysisInput input, FeatureDashboardOptions o, string label, Action<RowBlock> add)
    {
        using var bar = new ProgressBar(label, input.ExpectedRows, "tokens");
        foreach (var b in input.Blocks(o.BlockRows)) { add(b); bar.Advance(b.Rows); }
    }
}
