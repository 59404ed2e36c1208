using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>Loads frames from whatever the user points at: a CP2K run (directory, project prefix or positions file) or an (extended) XYZ file.</summary>
public static class FrameSource
{
    public static IReadOnlyList<Frame> Load(string path, Action<string>? warn = null)
        => IsCp2kRun(path) ? Cp2kRun.Read(path, warn).Frames : ExtendedXyz.Read(path, warn);

    /// <summary>True for a directory, a CP2K positions file (P-pos-1.xyz[.gz]) or a prefix P whose P-pos-1.xyz[.gz] exists.</summary>
    public static bool IsCp2kRun(string path)
    {
        if (Directory.Exists(path)) return true;
        var name = Path.GetFileName(path);
        if (name.EndsWith("-pos-1.xyz", StringComparison.Ordinal) || name.EndsWith("-pos-1.xyz.gz", StringComparison.Ordinal)) return true;
        if (File.Exists(path)) return false;
        return File.Exists(path + "-pos-1.xyz") || File.Exists(path + "-pos-1.xyz.gz");
    }
}
