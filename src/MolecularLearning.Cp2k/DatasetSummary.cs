using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>What `mld ingest` reports about a set of frames.</summary>
public sealed class DatasetSummary
{
    public int Frames { get; init; }
    public int FramesWithForces { get; init; }
    public int FramesWithVelocities { get; init; }
    public long? FirstStep { get; init; }
    public long? LastStep { get; init; }
    public double? TimeStartFs { get; init; }
    public double? TimeEndFs { get; init; }
    public double? TimeSpanFs => TimeEndFs - TimeStartFs;
    /// <summary>Atoms of each species in one frame, in order of first appearance.</summary>
    public required IReadOnlyList<(Species Species, int Atoms)> AtomsPerSpecies { get; init; }
    /// <summary>Mean instantaneous temperature (K) from the velocities, 3N − 3 degrees of freedom (as CP2K).</summary>
    public double? MeanTemperatureK { get; init; }
    /// <summary>Mean of CP2K's own temperature column (.ener) over the same steps.</summary>
    public double? MeanTemperatureEnerK { get; init; }
    /// <summary>Per species: sqrt(mean |F|²) over its atoms in every frame with forces (eV/Å).</summary>
    public required IReadOnlyList<(Species Species, double Rms)> ForceRms { get; init; }

    public static DatasetSummary From(IReadOnlyList<Frame> frames, Cp2kEnergies? energies = null)
    {
        if (frames.Count == 0) throw new DataException("no frames");
        var first = frames[0];
        var species = first.DistinctSpecies();
        var atoms = species.Select(s => (s, first.Species.Count(x => x == s))).ToList();
        var sumF2 = new double[species.Count];
        var countF = new long[species.Count];
        int withForces = 0, withVelocities = 0;
        double sumT = 0, sumEnerT = 0;
        int enerRows = 0;
        foreach (var frame in frames)
        {
            if (frame.Forces is { } f)
            {
                withForces++;
                for (int i = 0; i < frame.AtomCount; i++)
                {
                    int s = IndexOf(species, frame.Species[i]);
                    if (s < 0) continue;
                    sumF2[s] += f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2];
                    countF[s]++;
                }
            }
            if (frame.Velocities is not null)
            {
                withVelocities++;
                sumT += frame.Temperature();
            }
            if (energies is not null && frame.Step is { } step && energies.RowOf(step) is var row and >= 0)
            {
                sumEnerT += energies.Temperature[row];
                enerRows++;
            }
        }
        var rms = new List<(Species, double)>();
        for (int s = 0; s < species.Count; s++)
            if (countF[s] > 0) rms.Add((species[s], Math.Sqrt(sumF2[s] / countF[s])));
        return new DatasetSummary
        {
            Frames = frames.Count,
            FramesWithForces = withForces,
            FramesWithVelocities = withVelocities,
            FirstStep = first.Step,
            LastStep = frames[^1].Step,
            TimeStartFs = first.Time,
            TimeEndFs = frames[^1].Time,
            AtomsPerSpecies = atoms,
            MeanTemperatureK = withVelocities > 0 ? sumT / withVelocities : null,
            MeanTemperatureEnerK = enerRows > 0 ? sumEnerT / enerRows : null,
            ForceRms = rms,
        };
    }

    private static int IndexOf(IReadOnlyList<Species> list, Species s)
    {
        for (int k = 0; k < list.Count; k++) if (list[k] == s) return k;
        return -1;
    }
}
