using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Grpc;

namespace MolecularLearning.Server;

/// <summary>The species list the i-PI client needs (i-PI sends positions only), from a structure file.</summary>
public static class IpiTemplate
{
    /// <summary>Species of the first frame of <paramref name="path"/> (xyz, extxyz, or a CP2K run); all must be the model's.</summary>
    public static Species[] Load(string path, ServedModel model)
    {
        var frames = FrameSource.Load(path);
        if (frames.Count == 0) throw DataException.At(path, null, "no frame to take the i-PI template species from");
        var species = frames[0].Species;
        for (int i = 0; i < species.Length; i++)
            if (!model.Species.Contains(species[i]))
                throw DataException.At(path, 0, $"atom {i} is {species[i].Symbol}, which the model does not know ({string.Join(", ", model.Species)})");
        return species;
    }

    /// <summary>
    /// True when the template's first frame is an extended XYZ header with a Lattice and pbc="F F F": what ASE
    /// writes for a non-periodic Atoms in a box (atoms.center(vacuum=...)). i-PI has no periodicity flag and ASE's
    /// SocketIOCalculator sends that box as the cell, so without this the box would be taken as periodic.
    /// A template without a Lattice says nothing (a plain xyz is often used for a periodic run).
    /// </summary>
    public static bool DeclaresBoxWithoutPbc(string path) =>
        !FrameSource.IsCp2kRun(path) && File.Exists(path) && ExtendedXyz.DeclaresBoxWithoutPbc(path);
}
