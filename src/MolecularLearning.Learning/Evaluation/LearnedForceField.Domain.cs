using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// One MPI domain (a LAMMPS rank's local and ghost atoms) through the same per-agent evaluation as
/// <see cref="Compute(ReadOnlySpan{Species}, ReadOnlySpan{double}, Cell?, ForceResult)"/>.
/// </summary>
/// <remarks>
/// The atoms are reordered once per neighbour-list build: the owned atoms first (unchanged), then the ghosts
/// whose losses the owned forces need (conservative mode: ghosts within cutoff + skin of an owned atom), then the
/// other ghosts. Rows are built for the first two groups only, so the evaluation is "agents [from, to) on this
/// list" twice: the owned agents (energy, virial, forces) and the needed ghost agents (their reactions on the
/// owned atoms only). The skin keeps the needed set valid until an atom moves more than half of it.
/// </remarks>
public sealed partial class LearnedForceField : IDomainForceField
{
    private DomainState? _domain;

    /// <inheritdoc/>
    public double GhostCutoff => _model.Mode == ForceMode.Conservative ? 2 * _set.Cutoff : _set.Cutoff;

    private sealed class DomainState(AgentBackend backend)
    {
        public readonly AgentBackend Backend = backend;
        public readonly NeighbourList Selection = new(NeighbourStorage.Compact);
        public readonly NeighbourList List = new(NeighbourStorage.Compact);
        public int[] CallerTypes = [];   // species index per atom, caller's order
        public int[] Types = [];         // the same, evaluation order
        public int[] Order = [];         // evaluation index → caller's index
        public bool[] Needed = [];
        public double[] Positions = [];  // evaluation order
        public double[] Forces = [];     // evaluation order
        public readonly double[] GhostVirial = new double[9];
        public int Owned = -1, Agents;
    }

    public void ComputeDomain(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, int owned, ForceResult result)
    {
        int n = species.Length;
        if (positions.Length != 3 * n) throw new ArgumentException($"{n} atoms need {3 * n} coordinates, got {positions.Length}");
        if (owned < 0 || owned > n) throw new ArgumentOutOfRangeException(nameof(owned), $"{owned} owned atoms of {n}");
        result.Resize(n);
        result.Clear();
        if (owned == 0) return;
        var d = _domain ??= new DomainState(_newBackend());
        bool conservative = _model.Mode == ForceMode.Conservative;
        bool rebuild = d.CallerTypes.Length != n || d.Owned != owned;
        if (d.CallerTypes.Length != n) d.CallerTypes = new int[n];
        for (int i = 0; i < n; i++)
        {
            int t = _set.IndexOf(species[i]);
            if (t < 0) _model.CheckSpecies(species);
            rebuild |= d.CallerTypes[i] != t;
            d.CallerTypes[i] = t;
        }
        if (!rebuild)
        {
            Reorder(d, positions, n);
            rebuild = d.List.NeedsRebuild(d.Positions.AsSpan(0, 3 * n), null);
        }
        if (rebuild) BuildDomain(d, positions, n, owned, conservative);
        else d.Backend.Refresh(d.List, d.Positions.AsSpan(0, 3 * n));
        d.Backend.EnsureWorkers(1);
        var forces = d.Forces;
        Array.Clear(forces, 0, 3 * n);
        result.Energy = d.Backend.Run(0, owned, 0, d.List, d.Types, forces, conservative, result.Virial, CancellationToken.None);
        // The needed ghosts' losses count for the owned atoms' forces only: their energy and virial are their owners'.
        if (conservative && d.Agents > owned)
            d.Backend.Run(owned, d.Agents, 0, d.List, d.Types, forces, conservative, d.GhostVirial, CancellationToken.None);
        forces.AsSpan(0, 3 * owned).CopyTo(result.Forces); // owned atoms keep their indices
    }

    private void BuildDomain(DomainState d, ReadOnlySpan<double> positions, int n, int owned, bool conservative)
    {
        d.Owned = owned;
        if (d.Order.Length != n)
        {
            d.Order = new int[n]; d.Types = new int[n]; d.Needed = new bool[n];
            d.Positions = new double[3 * n]; d.Forces = new double[3 * n];
        }
        Array.Clear(d.Needed);
        if (conservative)
        {
            d.Selection.Build(positions, null, _set.Cutoff, _skin, rows: owned);
            foreach (int j in d.Selection.Index) if (j >= owned) d.Needed[j] = true;
        }
        int at = 0;
        for (int i = 0; i < owned; i++) d.Order[at++] = i;
        for (int i = owned; i < n; i++) if (d.Needed[i]) d.Order[at++] = i;
        d.Agents = at;
        for (int i = owned; i < n; i++) if (!d.Needed[i]) d.Order[at++] = i;
        for (int k = 0; k < n; k++) d.Types[k] = d.CallerTypes[d.Order[k]];
        Reorder(d, positions, n);
        d.Backend.BuildRows(d.List, d.Positions.AsSpan(0, 3 * n), d.Types, _skin, d.Agents);
    }

    private static void Reorder(DomainState d, ReadOnlySpan<double> positions, int n)
    {
        for (int k = 0; k < n; k++)
        {
            int i = 3 * d.Order[k];
            d.Positions[3 * k] = positions[i]; d.Positions[3 * k + 1] = positions[i + 1]; d.Positions[3 * k + 2] = positions[i + 2];
        }
    }
}
