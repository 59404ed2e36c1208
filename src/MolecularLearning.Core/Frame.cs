namespace MolecularLearning.Core;

/// <summary>
/// One configuration of a trajectory: species, positions (Å) and, where known, velocities (Å/fs),
/// forces (eV/Å), potential energy (eV), cell, MD step and time (fs). Arrays are interleaved 3N.
/// </summary>
public sealed class Frame
{
    public Frame(Species[] species, double[] positions, Cell? cell)
    {
        if (positions.Length != 3 * species.Length)
            throw new ArgumentException($"{species.Length} atoms need {3 * species.Length} coordinates, got {positions.Length}");
        Species = species;
        Positions = positions;
        Cell = cell;
    }

    public Species[] Species { get; }
    public int AtomCount => Species.Length;
    public double[] Positions { get; }
    public Cell? Cell { get; set; }
    public double[]? Velocities { get; set; }
    public double[]? Forces { get; set; }
    public double? Energy { get; set; }
    public long? Step { get; set; }
    public double? Time { get; set; }

    /// <summary>Kinetic energy (eV) from the velocities; throws if there are none.</summary>
    public double KineticEnergy()
    {
        var v = Velocities ?? throw new InvalidOperationException("frame has no velocities");
        double twiceKe = 0;
        for (int i = 0; i < Species.Length; i++)
        {
            double vx = v[3 * i], vy = v[3 * i + 1], vz = v[3 * i + 2];
            twiceKe += Species[i].Mass * (vx * vx + vy * vy + vz * vz);
        }
        return 0.5 * twiceKe * Units.AmuAngstrom2PerFs2InEv;
    }

    /// <summary>
    /// Instantaneous temperature (K). Degrees of freedom default to 3N − 3 (centre of mass fixed),
    /// which is what CP2K reports for periodic MD.
    /// </summary>
    public double Temperature(int? degreesOfFreedom = null)
    {
        int dof = degreesOfFreedom ?? Math.Max(1, 3 * AtomCount - 3);
        return 2 * KineticEnergy() / (dof * Units.BoltzmannEvPerK);
    }

    /// <summary>Distinct species in order of first appearance.</summary>
    public IReadOnlyList<Species> DistinctSpecies()
    {
        var list = new List<Species>();
        foreach (var s in Species) if (!list.Contains(s)) list.Add(s);
        return list;
    }

    public Frame Clone() => new((Species[])Species.Clone(), (double[])Positions.Clone(), Cell)
    {
        Velocities = (double[]?)Velocities?.Clone(),
        Forces = (double[]?)Forces?.Clone(),
        Energy = Energy,
        Step = Step,
        Time = Time,
    };
}
