using System.CommandLine;
using MolecularLearning.Core;

namespace MolecularLearning.Cli;

/// <summary>One `mld` verb. Implementations live in Verbs/ and are found by reflection.</summary>
public interface IVerb
{
    Command Build();

    static IEnumerable<IVerb> All() =>
        typeof(IVerb).Assembly.GetTypes()
            .Where(t => typeof(IVerb).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .Select(t => (IVerb)Activator.CreateInstance(t)!);
}

/// <summary>Turns expected failures into one line on stderr and a non-zero exit code.</summary>
public static class CliErrors
{
    /// <summary>Exit code for bad input (files, models, arguments).</summary>
    public const int BadInput = 2;

    public static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (Describe(e) is { } message)
        {
            Console.Error.WriteLine("error: " + message);
            return BadInput;
        }
    }

    public static async Task<int> GuardAsync(Func<Task<int>> body)
    {
        try { return await body(); }
        catch (Exception e) when (Describe(e) is { } message)
        {
            Console.Error.WriteLine("error: " + message);
            return BadInput;
        }
    }

    /// <summary>The one-line message for errors that are the user's input, null for bugs (which keep their trace).</summary>
    private static string? Describe(Exception e) => e switch
    {
        DataException => e.Message,
        FileNotFoundException f => $"{f.FileName ?? "file"}: not found",
        DirectoryNotFoundException => e.Message,
        UnauthorizedAccessException => e.Message,
        IOException => e.Message,
        _ => null,
    };
}
