using MolecularLearning.Core;

namespace MolecularLearning.Dynamics;

/// <summary>
/// The dynamical state of an MD run: species, masses, positions (Å, unwrapped), velocities (Å/fs),
/// forces (eV/Å) and potential energy (eV) at the current positions, cell, step and time (fs).
/// Arrays are interleaved 3N and never reallocated, so the integrator's step allocates nothing.
/// </summary>
public sealed class MdState
{
    public MdState(Species[] species, double[] positions, double[]? velocities, Cell? cell)
    {
        if (species.Length == 0) throw new DataException("a simulation needs at least one atom");
        if (positions.Length != 3 * species.Length)
            throw new ArgumentException($"{species.Length} atoms need {3 * species.Length} coordinates, got {positions.Length}");
        if (velocities is not null && velocities.Length != positions.Length)
            throw new ArgumentException($"{species.Length} atoms need {3 * species.Length} velocity components, got {velocities.Length}");
        Species = species;
        Masses = new double[species.Length];
        for (int i = 0; i < species.Length; i++) Masses[i] = species[i].Mass;
        Positions = (double[])positions.Clone();
        Velocities = velocities is null ? new double[positions.Length] : (double[])velocities.Clone();
        Forces = new double[positions.Length];
        Cell = cell;
    }

    /// <summary>A state from a frame (positions, velocities if it has them, cell, step and time).</summary>
    public static MdState FromFrame(Frame frame, double timestepFs)
    {
        long step = frame.Step ?? 0;
        double time = frame.Time ?? 0;
        return new(frame.Species, frame.Positions, frame.Velocities, frame.Cell)
        {
            Step = step, TimeFs = time, TimeOriginFs = time - step * timestepFs,
        };
    }

    public Species[] Species { get; }
    public int AtomCount => Species.Length;
    /// <summary>Masses in amu, one per atom.</summary>
    public double[] Masses { get; }
    public double[] Positions { get; }
    public double[] Velocities { get; }
    /// <summary>Forces at <see cref="Positions"/>, valid once <see cref="ForcesValid"/> is true.</summary>
    public double[] Forces { get; }
    public double PotentialEnergy { get; set; }
    public bool ForcesValid { get; set; }
    public Cell? Cell { get; }
    public long Step { get; set; }
    public double TimeFs { get; set; }
    /// <summary>Time (fs) the integrator counts steps from: TimeFs = TimeOriginFs + Step · dt.</summary>
    public double TimeOriginFs { get; set; }

    /// <summary>Kinetic energy in eV.</summary>
    public double KineticEnergy() => Momentum.KineticEnergy(Masses, Velocities);

    /// <summary>A frame snapshot (copies) for trajectory files and analysis.</summary>
    public Frame ToFrame() => new(Species, (double[])Positions.Clone(), Cell)
    {
        Velocities = (double[])Velocities.Clone(),
        Forces = ForcesValid ? (double[])Forces.Clone() : null,
        Energy = ForcesValid ? PotentialEnergy : null,
        Step = Step,
        Time = TimeFs,
    };
}
