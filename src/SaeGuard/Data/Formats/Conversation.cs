using SaeGuard.Common;

namespace SaeGuard.Data.Formats;

public enum TurnMode { First, All, Conversation }

/// <summary>One turn of a chat: who spoke ("human", "assistant", "system") and what was said.</summary>
internal readonly record struct Turn(string Role, string Text)
{
    public bool IsHuman => Role == "human";
}

/// <summary>Turns a chat into documents: its first human turn, each human turn, or the whole chat as text.</summary>
internal static class Conversation
{
    public static TurnMode ParseMode(string? turns) => turns?.Trim().ToLowerInvariant() switch
    {
        null or "" or "first" => TurnMode.First,
        "all" => TurnMode.All,
        "conversation" or "whole" => TurnMode.Conversation,
        _ => throw new UserError($"--turns must be first, all or conversation, got '{turns}'."),
    };

    public static IEnumerable<string> Documents(IReadOnlyList<Turn> turns, TurnMode mode)
    {
        switch (mode)
        {
            case TurnMode.First:
                foreach (var t in turns)
                    if (t.IsHuman && !string.IsNullOrWhiteSpace(t.Text)) { yield return t.Text; yield break; }
                break;
            case TurnMode.All:
                foreach (var t in turns)
                    if (t.IsHuman && !string.IsNullOrWhiteSpace(t.Text)) yield return t.Text;
                break;
            default:
                var text = Render(turns);
                if (text.Length > 0) yield return text;
                break;
        }
    }

    /// <summary>"Human: …\n\nAssistant: …", the layout of Anthropic's hh-rlhf dialogues.</summary>
    public static string Render(IEnumerable<Turn> turns) =>
        string.Join("\n\n", turns.Where(t => !string.IsNullOrWhiteSpace(t.Text)).Select(t => $"{Speaker(t.Role)}: {t.Text}"));

    static string Speaker(string role) => role switch { "human" => "Human", "system" => "System", _ => "Assistant" };
}
