using System.Text;

namespace SaeGuard.Tests.Infrastructure;

/// <summary>
/// Runs the CLI in-process and captures its exit code, stdout and stderr. Capture follows the
/// call's execution flow (an <see cref="AsyncLocal{T}"/> behind one console writer installed once),
/// so what other tests print at the same time (a server's log, say) never lands in a command's
/// captured output, while the command's own worker threads and tasks are captured.
/// </summary>
public static class CliHarness
{
    static readonly object Gate = new();
    static readonly FlowWriter Out, Err;

    static CliHarness()
    {
        Out = new FlowWriter(Console.Out);
        Err = new FlowWriter(Console.Error);
        Console.SetOut(Out);
        Console.SetError(Err);
    }

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        lock (Gate)
        {
            var o = new StringWriter(); var e = new StringWriter();
            var (oldOut, oldErr) = (Out.Capture.Value, Err.Capture.Value);
            Out.Capture.Value = o; Err.Capture.Value = e;
            try { return (SaeGuard.Cli.Program.Run(args), o.ToString(), e.ToString()); }
            finally { Out.Capture.Value = oldOut; Err.Capture.Value = oldErr; }
        }
    }

    /// <summary>Writes to this flow's capture when there is one, else to the real console stream.</summary>
    sealed class FlowWriter(TextWriter real) : TextWriter
    {
        public readonly AsyncLocal<TextWriter?> Capture = new();
        TextWriter Target => Capture.Value ?? real;
        public override Encoding Encoding => real.Encoding;
        public override void Write(char value) => Target.Write(value);
        public override void Write(string? value) => Target.Write(value);
        public override void Write(char[] buffer, int index, int count) => Target.Write(buffer, index, count);
        public override void Write(ReadOnlySpan<char> buffer) => Target.Write(buffer);
        public override void WriteLine() => Target.WriteLine();
        public override void WriteLine(string? value) => Target.WriteLine(value);
        public override void WriteLine(ReadOnlySpan<char> buffer) => Target.WriteLine(buffer);
        public override void Flush() => Target.Flush();
    }
}
