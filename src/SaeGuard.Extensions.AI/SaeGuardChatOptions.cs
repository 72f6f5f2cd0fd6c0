namespace SaeGuard.Extensions.AI;

/// <summary>What the guard does with a message scored at or above the threshold.</summary>
public enum SaeGuardAction
{
    /// <summary>Do not call the inner client (or stop its answer); answer with <see cref="SaeGuardChatOptions.RefusalMessage"/>.</summary>
    Block,
    /// <summary>Call the inner client, pass its answer through and attach the verdict to the response.</summary>
    Annotate,
}

/// <summary>How <see cref="SaeGuardChatClient"/> moderates a conversation.</summary>
public sealed class SaeGuardChatOptions
{
    /// <summary>Block (the default) or only annotate.</summary>
    public SaeGuardAction Action { get; set; } = SaeGuardAction.Block;
    /// <summary>The assistant's answer when the guard blocks a request or cuts off an answer.</summary>
    public string RefusalMessage { get; set; } = "I can't help with that request.";
    /// <summary>Overrides the probe's own threshold when set.</summary>
    public double? Threshold { get; set; }
    /// <summary>Score every user turn of the conversation (the default: a harmful request earlier in the
    /// history is caught too), or only the last one.</summary>
    public bool ModerateAllUserTurns { get; set; } = true;
    /// <summary>Also score the model's answer (output moderation): a flagged answer is replaced by the
    /// refusal (<see cref="SaeGuardAction.Block"/>) or annotated under the <c>saeguard.output.*</c> keys.</summary>
    public bool ModerateOutput { get; set; }
    /// <summary>
    /// Streaming with <see cref="ModerateOutput"/> and <see cref="SaeGuardAction.Block"/>: the answer
    /// is held back and scored each time this many more characters have arrived, and once at the
    /// end: the whole text so far and its last 2 × this many characters (so a late harmful turn is not
    /// averaged away by a long benign start). Only text that passed a check is yielded, so a harmful
    /// answer is cut off before its harmful part reaches the caller. 0: score once, at the end (nothing is yielded
    /// until the whole answer has passed). Larger values mean fewer model runs and more latency.
    /// </summary>
    public int OutputCheckIntervalChars { get; set; } = 200;
}

/// <summary>Keys of the verdict in <see cref="Microsoft.Extensions.AI.ChatResponse.AdditionalProperties"/> (and on streamed updates).</summary>
public static class SaeGuardProperties
{
    /// <summary>The deciding user turn's score (the highest among the turns scored).</summary>
    public const string Score = "saeguard.score";
    /// <summary>"harmful" or "benign" under the threshold in force.</summary>
    public const string Label = "saeguard.label";
    /// <summary>The threshold in force.</summary>
    public const string Threshold = "saeguard.threshold";
    /// <summary>True when the score reached the threshold.</summary>
    public const string Flagged = "saeguard.flagged";
    /// <summary>True when the guard answered instead of the inner client (or cut its answer off).</summary>
    public const string Blocked = "saeguard.blocked";
    /// <summary>The top features, an <c>IReadOnlyList&lt;FeatureContribution&gt;</c>.</summary>
    public const string Features = "saeguard.features";
    /// <summary>Index in the request's messages of the user turn the verdict is about (an <c>int</c>).</summary>
    public const string Turn = "saeguard.turn";
    /// <summary>The model answer's score (with <see cref="SaeGuardChatOptions.ModerateOutput"/>).</summary>
    public const string OutputScore = "saeguard.output.score";
    /// <summary>True when the model's answer reached the threshold.</summary>
    public const string OutputFlagged = "saeguard.output.flagged";
}
