namespace SaeGuard.Data.Formats;

internal static class InstructionText
{
    /// <summary>An instruction and its optional input as one prompt, separated by a blank line.</summary>
    public static string Join(string instruction, string? input) =>
        string.IsNullOrWhiteSpace(input) ? instruction : instruction.TrimEnd() + "\n\n" + input.Trim();
}
