using MolecularLearning.Core;

namespace MolecularLearning.Cli;

/// <summary>Finds the repository and the CP2K water run it ships (samples/water32-xtb) for demo and bench.</summary>
public static class ShippedSample
{
    /// <summary>The repository root (holding MolecularLearning.sln), searched upwards from the current folder and from mld's own folder.</summary>
    public static string RepoRoot(string remedy)
    {
        foreach (var startDir in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(startDir); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "MolecularLearning.sln"))) return dir.FullName;
        throw new DataException($"cannot find the repository (MolecularLearning.sln) above the current folder or mld itself; {remedy}");
    }

    /// <summary>The shipped CP2K run directory; <paramref name="remedy"/> tells the user what to pass instead.</summary>
    public static string Water32Xtb(string remedy)
    {
        var path = Path.Combine(RepoRoot(remedy), "samples", "water32-xtb");
        return Directory.Exists(path) ? path : throw new DataException($"{path}: not found; {remedy}");
    }
}
