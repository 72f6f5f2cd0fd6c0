using System.Text.Json;
using SaeGuard.Common;

namespace SaeGuard.Cli;

/// <summary>Runs a command body with SaeGuard's exit codes: 0 ok, 1 user error, 2 internal error.</summary>
public static class CliRunner
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UserError e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"internal error: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e.StackTrace);
            return 2;
        }
    }

    /// <summary>With --json, stdout holds only this object.</summary>
    public static void PrintJson(object summary) =>
        Console.Out.WriteLine(JsonSerializer.Serialize(summary, JsonDefaults.Pretty));
}
