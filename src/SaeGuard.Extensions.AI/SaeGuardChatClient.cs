using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using SaeGuard.Data;
using SaeGuard.Serving;

namespace SaeGuard.Extensions.AI;

/// <summary>What the guard does with a message scored at or above the threshold.</summary>
public enum SaeGuardAction
{
    /// <summary>Do not call the inner client; answer with <see cref="SaeGuardChatOptions.RefusalMessage"/>.</summary>
    Block,
    /// <summary>Call the inner client and attach the verdict to the response.</summary>
    Annotate,
}

public sealed class SaeGuardChatOptions
{
    public SaeGuardAction Action { get; set; } = SaeGuardAction.Block;
    public string RefusalMessage { get; set; } = "I can't help with that request.";
    /// <summary>Overrides the probe's own threshold when set.</summary>
    public double? Threshold { get; set; }
}

/// <summary>Keys of the verdict in <see cref="ChatResponse.AdditionalProperties"/> (and on streamed updates).</summary>
public static class SaeGuardProperties
{
    public const string Score = "saeguard.score";
    public const string Label = "saeguard.label";
    public const string Threshold = "saeguard.threshold";
    /// <summary>True when the score reached the threshold.</summary>
    public const string Flagged = "saeguard.flagged";
    /// <summary>True when the guard answered instead of the inner client.</summary>
    public const string Blocked = "saeguard.blocked";
    /// <summary>The top features, an <c>IReadOnlyList&lt;FeatureContribution&gt;</c>.</summary>
    public const string Features = "saeguard.features";
}

/// <summary>
/// Chat middleware that scores the last user message with an SAE-feature guard before the inner
/// client sees it. At or above the threshold it blocks (a refusal with finish reason
/// ContentFilter; the inner client is never called) or annotates, per <see cref="SaeGuardChatOptions.Action"/>.
/// Every response whose request held a user message carries the verdict under
/// <see cref="SaeGuardProperties"/> keys.
/// </summary>
public sealed class SaeGuardChatClient : DelegatingChatClient
{
    readonly IGuardScorer _scorer;
    readonly SaeGuardChatOptions _options;

    public SaeGuardChatClient(IChatClient innerClient, IGuardScorer scorer, SaeGuardChatOptions? options = null) : base(innerClient)
    {
        _scorer = scorer ?? throw new ArgumentNullException(nameof(scorer));
        _options = options ?? new SaeGuardChatOptions();
    }

    sealed record Assessment(GuardVerdict Verdict, double Threshold, bool Flagged);

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var assessment = await AssessAsync(list, cancellationToken).ConfigureAwait(false);
        if (assessment is { Flagged: true } && _options.Action == SaeGuardAction.Block)
        {
            var refusal = new ChatResponse(new ChatMessage(ChatRole.Assistant, _options.RefusalMessage))
            {
                FinishReason = ChatFinishReason.ContentFilter,
            };
            Annotate(refusal.AdditionalProperties ??= new(), assessment, blocked: true);
            return refusal;
        }
        var response = await base.GetResponseAsync(list, options, cancellationToken).ConfigureAwait(false);
        if (assessment != null) Annotate(response.AdditionalProperties ??= new(), assessment, blocked: false);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var assessment = await AssessAsync(list, cancellationToken).ConfigureAwait(false);
        if (assessment is { Flagged: true } && _options.Action == SaeGuardAction.Block)
        {
            var refusal = new ChatResponseUpdate(ChatRole.Assistant, _options.RefusalMessage) { FinishReason = ChatFinishReason.ContentFilter };
            Annotate(refusal.AdditionalProperties ??= new(), assessment, blocked: true);
            yield return refusal;
            yield break;
        }
        bool first = true;
        await foreach (var update in base.GetStreamingResponseAsync(list, options, cancellationToken).ConfigureAwait(false))
        {
            if (first && assessment != null) Annotate(update.AdditionalProperties ??= new(), assessment, blocked: false);
            first = false;
            yield return update;
        }
    }

    public override object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey == null && serviceType.IsInstanceOfType(_scorer) ? _scorer : base.GetService(serviceType, serviceKey);

    async Task<Assessment?> AssessAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken)
    {
        var lastUser = messages.LastOrDefault(m => m.Role == ChatRole.User);
        var text = lastUser?.Text;
        if (string.IsNullOrWhiteSpace(text)) return null;
        // Scoring runs the model: keep it off the caller's synchronisation context.
        var verdict = await Task.Run(() => _scorer.Score(new[] { text })[0], cancellationToken).ConfigureAwait(false);
        double threshold = _options.Threshold ?? verdict.Threshold;
        return new Assessment(verdict, threshold, verdict.Score >= threshold);
    }

    static void Annotate(AdditionalPropertiesDictionary props, Assessment a, bool blocked)
    {
        props[SaeGuardProperties.Score] = a.Verdict.Score;
        props[SaeGuardProperties.Label] = a.Flagged ? Labels.Harmful : Labels.Benign;
        props[SaeGuardProperties.Threshold] = a.Threshold;
        props[SaeGuardProperties.Flagged] = a.Flagged;
        props[SaeGuardProperties.Blocked] = blocked;
        props[SaeGuardProperties.Features] = a.Verdict.TopFeatures;
    }
}
