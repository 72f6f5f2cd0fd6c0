namespace SaeGuard.Common;

/// <summary>A mistake in the user's input or options. The CLI prints the message and exits with code 1.</summary>
public sealed class UserError : Exception
{
    public UserError(string message) : base(message) { }
    public UserError(string message, Exception inner) : base(message, inner) { }
}
