using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>Loads frames from whatever the user points at: a CP2K run (directory, project prefix or positions file) or an (extended) XYZ file.</summary>
public static class FrameSource
{
    public static IReadOnlyList<Frame> Load(string path, Action<string>? warn = null)
    {
        if (IsCp2kRun(path)) return Cp2kRun.Read(path, warn).Frames;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: not found (no such file, directory or CP2K project prefix)", path);
        return ExtendedXyz.Read(path, warn);
    }

    /// <summary>
    /// True for a directory, a CP2K positions file (P-pos-1.xyz[.gz]) or a prefix P beside any file of
    /// the run (P-pos-1.xyz, P-frc-1.xyz, P-vel-1.xyz, P-1.ener, P-1.restart, plain or .gz), so that a
    /// run missing its positions file is reported as such.
    /// </summary>
    public static bool IsCp2kRun(string path)
    {
        if (Directory.Exists(path)) return true;
        var name = Path.GetFileName(path);
        if (name.EndsWith("-pos-1.xyz", StringComparison.Ordinal) || name.EndsWith("-pos-1.xyz.gz", StringComparison.Ordinal)) return true;
        if (File.Exists(path)) return false;
        foreach (var suffix in RunFiles)
            if (File.Exists(path + suffix) || File.Exists(path + suffix + ".gz")) return true;
        return false;
    }

    private static readonly string[] RunFiles = ["-pos-1.xyz", "-frc-1.xyz", "-vel-1.xyz", "-1.ener", "-1.restart"];
}
