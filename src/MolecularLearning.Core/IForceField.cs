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

    /// <summary>
    /// As <see cref="Compute(ReadOnlySpan{Species}, ReadOnlySpan{double}, Cell?, ForceResult)"/>, stopping early with
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellation"/> fires (a gRPC deadline, a
    /// shutdown). Force fields whose evaluation is long override it and check the token between pieces of work;
    /// the result is then undefined.
    /// </summary>
    void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result,
        CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        Compute(species, positions, cell, result);
    }
}

/// <summary>
/// How a force field computes (OpenMM's Platform, LAMMPS's accelerator suffix): the backend's name
/// ("reference", "simd", "remote"...) and the SIMD width it runs at in bits (0 when not vectorised).
/// Shown in logs, gRPC DescribeModel and benchmark rows, so nobody mistakes a slow path for a fast one.
/// <see cref="Precision"/>: "double", or "mixed" (per-pair stages in single precision, sums in double).
/// </summary>
public sealed record BackendInfo(string Name, int VectorBits, string Precision = "double")
{
    public override string ToString() =>
        (VectorBits > 0 ? $"{Name} ({VectorBits}-bit" + (Precision == "double" ? ")" : $", {Precision})") : Name);
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

    /// <summary>
    /// How far the structure lies outside what the force field was fitted on: the largest, over atoms and
    /// invariants, distance of an invariant beyond its training range in units of its training spread (0 inside
    /// the range). NaN when the force field does not report one (every force field but the learned model).
    /// </summary>
    public double Extrapolation { get; set; } = double.NaN;
    /// <summary>The atom (0-based) whose invariant is furthest out, or −1.</summary>
    public int ExtrapolationAtom { get; set; } = -1;
    /// <summary>The name of that invariant (e.g. "radial O 3"), or null.</summary>
    public string? ExtrapolationInvariant { get; set; }

    /// <summary>Makes <see cref="Forces"/> hold exactly 3N entries, reallocating only when N changes.</summary>
    public void Resize(int atoms)
    {
        if (Forces.Length != 3 * atoms) Forces = new double[3 * atoms];
    }

    public void Clear()
    {
        Energy = 0;
        Extrapolation = double.NaN;
        ExtrapolationAtom = -1;
        ExtrapolationInvariant = null;
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

/// <summary>
/// A force field that evaluates one domain of a larger system: an MPI rank's own atoms with the ghost atoms
/// around them (LAMMPS's local and ghost atoms), without periodic images (the ghosts are the images).
/// Atoms [0, owned) are the domain's; atoms [owned, N) are ghosts.
/// </summary>
public interface IDomainForceField
{
    /// <summary>
    /// How far (Å) beyond the domain the ghosts must reach for the owned atoms' forces to be exact: the cutoff
    /// when an atom's force depends on its own loss only (agent mode), twice the cutoff when it depends on its
    /// neighbours' losses too (conservative mode).
    /// </summary>
    double GhostCutoff { get; }

    /// <summary>
    /// Energy: the sum of the owned atoms' losses. Virial: the owned atoms' share (shares summed over every domain
    /// give the system's virial). Forces: exact on the owned atoms; the ghosts' entries of
    /// <paramref name="result"/> are left at zero. <paramref name="positions"/> holds all N atoms (3N, Å).
    /// </summary>
    void ComputeDomain(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, int owned, ForceResult result);

    /// <summary>
    /// As above, with <paramref name="owners"/>[i] (i in [owned, N)) the owned atom ghost i is an image of, or −1 when
    /// another domain owns it. Lets a conservative model fold its owned agents' reactions on images back onto their
    /// atoms instead of evaluating the images' losses again (one MPI rank: no ghost losses at all).
    /// </summary>
    void ComputeDomain(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, int owned, ReadOnlySpan<int> owners, ForceResult result)
        => ComputeDomain(species, positions, owned, result);

    /// <summary>
    /// Whether <see cref="ComputeDomainWithGhostReactions"/> is available: forces that depend on the neighbours' losses
    /// (conservative mode), where handing the ghosts' reactions back to their owners replaces evaluating ghost losses.
    /// </summary>
    bool HasGhostReactions => false;

    /// <summary>The ghost reach (Å) <see cref="ComputeDomainWithGhostReactions"/> needs: the cutoff.</summary>
    double ReactionGhostCutoff => GhostCutoff;

    /// <summary>
    /// Energy and virial as <see cref="ComputeDomain(ReadOnlySpan{Species}, ReadOnlySpan{double}, int, ReadOnlySpan{int}, ForceResult)"/>;
    /// no ghost's loss is evaluated. Forces on all N atoms: an owned atom's entry holds the owned agents' forces on it
    /// (images among the ghosts folded, as there, and their entries zeroed), a ghost's entry the owned agents' reactions
    /// on it. Adding every ghost entry to the atom it is an image of on the domain that owns it (LAMMPS's reverse
    /// communication) gives the exact forces.
    /// </summary>
    void ComputeDomainWithGhostReactions(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, int owned, ReadOnlySpan<int> owners, ForceResult result)
        => throw new NotSupportedException($"{GetType().Name} does not hand back ghost reactions");

    /// <summary>Counters of the domain evaluations since the last call (list builds, time per part), one line for diagnosis; null if none kept.</summary>
    string? TakeDomainStatistics() => null;

    /// <summary>
    /// Lets the domains of one system rebuild their neighbour lists together. From now on each evaluation calls
    /// <paramref name="anyDomain"/> once with whether this domain's list is stale and rebuilds when it returns true
    /// (an MPI "or" over the ranks). Each rank then builds on the same step, instead of each waiting at the step's
    /// next collective for another's build. Returns false when the force field keeps no lists and never calls it.
    /// </summary>
    bool RebuildTogether(Func<bool, bool> anyDomain) => false;
}
