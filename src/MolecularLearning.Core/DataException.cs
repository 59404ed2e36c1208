namespace MolecularLearning.Core;

/// <summary>
/// Bad input at an edge (a file, a frame, a message): the message names where and what,
/// and is meant to be shown to the user as one line, without a stack trace.
/// </summary>
public class DataException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Builds "file: frame N: problem" with the parts that are known.</summary>
    public static DataException At(string? file, int? frame, string problem, Exception? inner = null)
    {
        var where = file is null ? "" : file + ": ";
        if (frame is not null) where += $"frame {frame}: ";
        return new DataException(where + problem, inner);
    }
}
