using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SaeGuard.Data;
using SaeGuard.Serving;

namespace SaeGuard.Extensions.AI;

/// <summary>
/// Chat middleware that scores the conversation's user turns (every one, or the last: see
/// <see cref="SaeGuardChatOptions.ModerateAllUserTurns"/>) with an SAE-feature guard before the
/// inner client sees them, and optionally the model's answer (<see cref="SaeGuardChatOptions.ModerateOutput"/>;
/// streamed answers are checked as they grow and cut off). At or above the threshold it blocks
/// (a refusal with finish reason ContentFilter; the inner client is never called) or annotates,
/// per <see cref="SaeGuardChatOptions.Action"/>. Every response whose request held a user message
/// carries the verdict under <see cref="SaeGuardProperties"/> keys.
/// </summary>
public sealed class SaeGuardChatClient : DelegatingChatClient
{
    readonly IGuardScorer _scorer;
    readonly SaeGuardChatOptions _options;
    readonly ILogger _logger;

    /// <param name="innerClient">The model.</param>
    /// <param name="scorer">The guard (e.g. a loaded probe folder's scorer).</param>
    /// <param name="options">How to moderate (defaults: block, every user turn, no output moderation).</param>
    /// <param name="logger">Where blocks are logged (Information) ; none by default.</param>
    public SaeGuardChatClient(IChatClient innerClient, IGuardScorer scorer, SaeGuardChatOptions? options = null, ILogger<SaeGuardChatClient>? logger = null)
        : base(innerClient)
    {
        _scorer = scorer ?? throw new ArgumentNullException(nameof(scorer));
        _options = options ?? new SaeGuardChatOptions();
        if (_options.OutputCheckIntervalChars < 0)
            throw new ArgumentOutOfRangeException(nameof(options), $"OutputCheckIntervalChars must be 0 or more, got {_options.OutputCheckIntervalChars}.");
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    bool Blocks => _options.Action == SaeGuardAction.Block;

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var input = await AssessInputAsync(list, cancellationToken).ConfigureAwait(false);
        if (input is { Flagged: true } && Blocks)
        {
            _logger.LogInformation("SaeGuard blocked a request: user turn {Turn} scored {Score:0.###} (threshold {Threshold:0.###}).", input.Turn, input.Verdict.Score, input.Threshold);
            return Refusal(input, output: null);
        }
        var response = await base.GetResponseAsync(list, options, cancellationToken).ConfigureAwait(false);
        GuardAssessment? output = null;
        if (_options.ModerateOutput && !string.IsNullOrWhiteSpace(response.Text))
        {
            output = await AssessAsync(GuardMetrics.Sources.ChatOutput, new[] { response.Text }, cancellationToken).ConfigureAwait(false);
            if (output.Flagged && Blocks)
            {
                _logger.LogInformation("SaeGuard replaced a model answer: it scored {Score:0.###} (threshold {Threshold:0.###}).", output.Verdict.Score, output.Threshold);
                var refusal = Refusal(input, output);
                refusal.ResponseId = response.ResponseId;
                refusal.ModelId = response.ModelId;
                return refusal;
            }
        }
        if (input != null) Annotate(response.AdditionalProperties ??= new(), input, blocked: false);
        if (output != null) AnnotateOutput(response.AdditionalProperties ??= new(), output);
        return response;
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var input = await AssessInputAsync(list, cancellationToken).ConfigureAwait(false);
        if (input is { Flagged: true } && Blocks)
        {
            _logger.LogInformation("SaeGuard blocked a streamed request: user turn {Turn} scored {Score:0.###} (threshold {Threshold:0.###}).", input.Turn, input.Verdict.Score, input.Threshold);
            yield return RefusalUpdate(input, output: null);
            yield break;
        }
        var stream = base.GetStreamingResponseAsync(list, options, cancellationToken);
        bool first = true;
        ChatResponseUpdate Mark(ChatResponseUpdate u)
        {
            if (first && input != null) Annotate(u.AdditionalProperties ??= new(), input, blocked: false);
            first = false;
            return u;
        }

        if (!_options.ModerateOutput)
        {
            await foreach (var update in stream.ConfigureAwait(false)) yield return Mark(update);
            yield break;
        }

        // Output moderation: hold updates back until the text so far has passed a check.
        var text = new StringBuilder();
        var held = new List<ChatResponseUpdate>();
        int unchecked_ = 0, checkedLength = -1;
        GuardAssessment? output = null;
        await foreach (var update in stream.ConfigureAwait(false))
        {
            var piece = update.Text;
            text.Append(piece);
            unchecked_ += piece.Length;
            if (!Blocks)
            {
                yield return Mark(update); // annotate mode: pass through, score at the end
                continue;
            }
            held.Add(update);
            if (_options.OutputCheckIntervalChars == 0 || unchecked_ < _options.OutputCheckIntervalChars) continue;
            output = await AssessAsync(GuardMetrics.Sources.ChatOutput, OutputTexts(text.ToString()), cancellationToken).ConfigureAwait(false);
            checkedLength = text.Length;
            unchecked_ = 0;
            if (output.Flagged) break;
            foreach (var h in held) yield return Mark(h);
            held.Clear();
        }
        if ((output == null || !output.Flagged) && text.Length != checkedLength && !string.IsNullOrWhiteSpace(text.ToString()))
            output = await AssessAsync(GuardMetrics.Sources.ChatOutput, OutputTexts(text.ToString()), cancellationToken).ConfigureAwait(false);
        if (output is { Flagged: true } && Blocks)
        {
            _logger.LogInformation("SaeGuard cut off a streamed answer after {Chars} characters: it scored {Score:0.###} (threshold {Threshold:0.###}).", text.Length, output.Verdict.Score, output.Threshold);
            yield return RefusalUpdate(input, output);
            yield break;
        }
        foreach (var h in held) yield return Mark(h);
        if (output != null)
        {
            var verdict = new ChatResponseUpdate { Role = ChatRole.Assistant };
            AnnotateOutput(verdict.AdditionalProperties ??= new(), output);
            yield return Mark(verdict);
        }
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey == null && serviceType.IsInstanceOfType(_scorer) ? _scorer : base.GetService(serviceType, serviceKey);

    /// <summary>What a streaming check scores: the answer so far and, when longer, its recent part (the last
    /// 2 × <see cref="SaeGuardChatOptions.OutputCheckIntervalChars"/> characters from a word start), so a
    /// harmful turn late in a long answer is not averaged away by the benign text before it.</summary>
    IReadOnlyList<string> OutputTexts(string text)
    {
        int window = 2 * _options.OutputCheckIntervalChars;
        if (window == 0 || text.Length <= window) return new[] { text };
        int start = text.Length - window;
        while (start < text.Length && !char.IsWhiteSpace(text[start - 1])) start++;
        var tail = text[start..];
        return string.IsNullOrWhiteSpace(tail) ? new[] { text } : new[] { text, tail };
    }

    async Task<GuardAssessment?> AssessInputAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken)
    {
        var turns = new List<(int Index, string Text)>();
        for (int i = 0; i < messages.Count; i++)
            if (messages[i].Role == ChatRole.User && !string.IsNullOrWhiteSpace(messages[i].Text)) turns.Add((i, messages[i].Text));
        if (turns.Count == 0) return null;
        if (!_options.ModerateAllUserTurns) turns.RemoveRange(0, turns.Count - 1);
        var a = await AssessAsync(GuardMetrics.Sources.ChatInput, turns.Select(t => t.Text).ToArray(), cancellationToken).ConfigureAwait(false);
        return a with { Turn = turns[a.Turn].Index };
    }

    /// <summary>Scores <paramref name="texts"/>; the assessment is about the highest-scoring one (<see cref="GuardAssessment.Turn"/> is its index).</summary>
    async Task<GuardAssessment> AssessAsync(string source, IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var verdicts = await _scorer.ScoreAsync(texts, cancellationToken).ConfigureAwait(false);
        int top = 0;
        for (int i = 1; i < verdicts.Count; i++) if (verdicts[i].Score > verdicts[top].Score) top = i;
        double threshold = _options.Threshold ?? verdicts[top].Threshold;
        GuardMetrics.Record(source, verdicts.Count, verdicts.Count(v => v.Score >= (_options.Threshold ?? v.Threshold)), GuardMetrics.Since(start));
        return new GuardAssessment(verdicts[top], threshold, verdicts[top].Score >= threshold, top);
    }

    ChatResponse Refusal(GuardAssessment? input, GuardAssessment? output)
    {
        var refusal = new ChatResponse(new ChatMessage(ChatRole.Assistant, _options.RefusalMessage)) { FinishReason = ChatFinishReason.ContentFilter };
        AnnotateRefusal(refusal.AdditionalProperties ??= new(), input, output);
        return refusal;
    }

    ChatResponseUpdate RefusalUpdate(GuardAssessment? input, GuardAssessment? output)
    {
        var refusal = new ChatResponseUpdate(ChatRole.Assistant, _options.RefusalMessage) { FinishReason = ChatFinishReason.ContentFilter };
        AnnotateRefusal(refusal.AdditionalProperties ??= new(), input, output);
        return refusal;
    }

    static void AnnotateRefusal(AdditionalPropertiesDictionary props, GuardAssessment? input, GuardAssessment? output)
    {
        if (input != null) Annotate(props, input, blocked: true);
        if (output != null) AnnotateOutput(props, output);
        props[SaeGuardProperties.Blocked] = true;
    }

    static void Annotate(AdditionalPropertiesDictionary props, GuardAssessment a, bool blocked)
    {
        props[SaeGuardProperties.Score] = a.Verdict.Score;
        props[SaeGuardProperties.Label] = a.Flagged ? Labels.Harmful : Labels.Benign;
        props[SaeGuardProperties.Threshold] = a.Threshold;
        props[SaeGuardProperties.Flagged] = a.Flagged;
        props[SaeGuardProperties.Blocked] = blocked;
        props[SaeGuardProperties.Features] = a.Verdict.TopFeatures;
        props[SaeGuardProperties.Turn] = a.Turn;
    }

    static void AnnotateOutput(AdditionalPropertiesDictionary props, GuardAssessment a)
    {
        props[SaeGuardProperties.OutputScore] = a.Verdict.Score;
        props[SaeGuardProperties.OutputFlagged] = a.Flagged;
    }
}

/// <summary>A verdict under the threshold in force; <see cref="Turn"/> says which text it is about.</summary>
sealed record GuardAssessment(GuardVerdict Verdict, double Threshold, bool Flagged, int Turn);
