namespace MolecularLearning.Core;

/// <summary>
/// The one seam between what computes forces and what moves atoms (ASE's Calculator, i-PI's
/// forcefield). The in-process learned model, a remote i-PI client and a gRPC client all implement it.
/// An instance may keep per-structure state (neighbour lists), so it is used from one thread at a time.
/// </summary>
public interface IForceField
{
    /// <summary>A short human-readable description (model file, address...).</summary>
    string Name { get; }

    /// <summary>
    /// Energy (eV), forces (eV/Å) and virial (eV) for one configuration. Positions are 3N, in Å;
    /// <paramref name="cell"/> is null for an isolated system. Implementations overwrite every field of
    /// <paramref name="result"/> and do not allocate in steady state when its arrays already fit.
    /// </summary>
    void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result);
}

/// <summary>What a force field returns; reused across steps so the hot path allocates nothing.</summary>
public sealed class ForceResult
{
    public ForceResult(int atoms = 0) => Forces = new double[3 * atoms];

    /// <summary>Potential energy in eV (for the learned loss: the sum of agents' losses).</summary>
    public double Energy { get; set; }
    /// <summary>Forces in eV/Å, interleaved 3N.</summary>
    public double[] Forces { get; private set; }
    /// <summary>Virial W = −∂E/∂ε in eV, row-major 3×3 (the i-PI / LAMMPS convention; stress = −W/V).</summary>
    public double[] Virial { get; } = new double[9];

    /// <summary>Makes <see cref="Forces"/> hold exactly 3N entries, reallocating only when N changes.</summary>
    public void Resize(int atoms)
    {
        if (Forces.Length != 3 * atoms) Forces = new double[3 * atoms];
    }

    public void Clear()
    {
        Energy = 0;
        Array.Clear(Forces);
        Array.Clear(Virial);
    }
}

public static class ForceFieldExtensions
{
    /// <summary>Convenience for non-hot paths: evaluates a frame into a new result.</summary>
    public static ForceResult Compute(this IForceField forceField, Frame frame)
    {
        var result = new ForceResult(frame.AtomCount);
        forceField.Compute(frame.Species, frame.Positions, frame.Cell, result);
        return result;
    }
}
