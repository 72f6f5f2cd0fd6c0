namespace SaeGuard.Bench;

/// <summary>A benchmark: prints its figures (and the peer's, where it runs one) to stdout.</summary>
public interface IBenchmark
{
    string Name { get; }
    string Description { get; }
    void Run(string[] args);
}

public static class Program
{
    public static int Main(string[] args)
    {
        var all = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
            .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
            .OrderBy(b => b.Name).ToList();
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("usage: dotnet run --project bench/SaeGuard.Bench -c Release -- <benchmark> [args]");
            foreach (var b in all) Console.WriteLine($"  {b.Name,-16} {b.Description}");
            return 0;
        }
        var bench = all.FirstOrDefault(b => b.Name == args[0]);
        if (bench == null) { Console.Error.WriteLine($"unknown benchmark '{args[0]}'"); return 1; }
        Console.WriteLine($"# {bench.Name} on {Environment.MachineName}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, .NET {Environment.Version}");
        bench.Run(args[1..]);
        return 0;
    }
}
