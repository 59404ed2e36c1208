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
}
