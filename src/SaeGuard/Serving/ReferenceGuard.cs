using SaeGuard.Data;
using SaeGuard.Models;

namespace SaeGuard.Serving;

public sealed record ReferenceGuardOptions
{
    public int Latents { get; init; } = 256;
    public int K { get; init; } = 8;
    public int KMeansIterations { get; init; } = 10;
    public int Seed { get; init; } = 0;
    public GuardBuildOptions Build { get; init; } = new();
}

/// <summary>
/// A complete guard that needs nothing but labelled prompts and an activation source: a
/// <see cref="KMeansDictionarySae"/> over the training prompts' token activations and a logistic
/// head over its mean-pooled codes. Used by the serving tests, the load benchmark and the chat
/// middleware sample until a trained SAE and probe are at hand.
/// </summary>
public static class ReferenceGuard
{
    public static BuiltGuard Build(IActivationSource source, IReadOnlyList<DocRecord> train, IReadOnlyList<DocRecord> heldOut,
        ReferenceGuardOptions? options = null)
    {
        options ??= new ReferenceGuardOptions();
        return GuardBuilder.Build(source, train, heldOut, acts =>
        {
            var (rows, n) = GuardBuilder.TokenRows(acts, source.Width);
            return KMeansDictionarySae.Build(rows, n, source.Width, options.Latents, options.K, options.Seed,
                options.KMeansIterations, source.ModelName, source.Layer);
        }, options.Build);
    }

    /// <summary>
    /// A seeded shuffle of each class, then the first <paramref name="trainPerClass"/> of each for
    /// training and the next <paramref name="heldOutPerClass"/> for held-out evaluation. Labels are set.
    /// </summary>
    public static (List<DocRecord> Train, List<DocRecord> HeldOut) Split(IEnumerable<DocRecord> harmful, IEnumerable<DocRecord> benign,
        int trainPerClass, int heldOutPerClass, int seed = 0)
    {
        var train = new List<DocRecord>();
        var heldOut = new List<DocRecord>();
        foreach (var (docs, label) in new[] { (harmful, GuardLabels.Harmful), (benign, GuardLabels.Benign) })
        {
            var rng = new Random(seed);
            var shuffled = docs.Select(d => d with { Label = label }).OrderBy(_ => rng.Next()).ToList();
            if (shuffled.Count < trainPerClass + heldOutPerClass)
                throw new ArgumentException($"{label}: {shuffled.Count} documents, need {trainPerClass + heldOutPerClass}.");
            train.AddRange(shuffled.Take(trainPerClass));
            heldOut.AddRange(shuffled.Skip(trainPerClass).Take(heldOutPerClass));
        }
        return (train, heldOut);
    }
}
