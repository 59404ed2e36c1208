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
/// A ghost that is an image of an owned atom (owners given) is not needed: the owned agents' reactions on it are
/// folded onto its atom, which is what that image's own loss would have given the owned atoms.
/// </remarks>
public sealed partial class LearnedForceField : IDomainForceField
{
    private DomainState? _domain;
    private Func<bool, bool>? _anyDomainStale;

    /// <inheritdoc/>
    public bool RebuildTogether(Func<bool, bool> anyDomain)
    {
        _anyDomainStale = anyDomain;
        return true;
    }

    /// <summary>
    /// Whether an owned atom's force depends on its neighbours' losses: conservative mode, and agent mode with
    /// gradient range walls (a neighbour's wall pushes it).
    /// </summary>
    private bool Scatters => _model.Mode == ForceMode.Conservative || _wallReactions is not null;

    /// <inheritdoc/>
    public double GhostCutoff => Scatters ? 2 * _set.Cutoff : _set.Cutoff;

    /// <inheritdoc/>
    public bool HasGhostReactions => Scatters;

    /// <inheritdoc/>
    public double ReactionGhostCutoff => _set.Cutoff;

    private sealed class DomainState(AgentBackend backend)
    {
        public readonly AgentBackend Backend = backend;
        public readonly NeighbourList Selection = new(NeighbourStorage.Compact);
        public readonly NeighbourList List = new(NeighbourStorage.Compact);
        public int[] CallerTypes = [];   // species index per atom, caller's order
        public int[] CallerOwners = [];  // owned image of each ghost or −1, caller's order (all −1 without owners)
        public int[] Types = [];         // the same, evaluation order
        public int[] Order = [];         // evaluation index → caller's index
        public bool[] Needed = [];
        public double[] Positions = [];  // evaluation order
        public double[] Forces = [];     // evaluation order
        public bool[] Walled = [];       // agent mode, gradient walls: per agent, its range walls act
        public double[] Extrapolation = []; // per owned agent (the model has training ranges)
        public int[] ExtrapolationInvariant = [];
        public readonly double[] GhostVirial = new double[9];
        public int Owned = -1, Agents;
        public bool Reactions;           // ghost losses replaced by handing the ghosts' reactions back
        // Diagnosis (TakeDomainStatistics): evaluations, list builds and wall ticks per part since the last take.
        public long Calls, Builds;
        public readonly long[] Ticks = new long[5]; // prepare (types, owners, reorder, check), build, refresh, owned agents, fold + ghost agents + copy
    }

    /// <inheritdoc/>
    public string? TakeDomainStatistics()
    {
        if (_domain is not { } d || d.Calls == 0) return null;
        double ms(long t) => t * 1e3 / System.Diagnostics.Stopwatch.Frequency / d.Calls;
        var line = $"domain: {d.Calls} evaluations, {d.Builds} list builds; ms per evaluation (wall): prepare {ms(d.Ticks[0]):0.00}, " +
            $"build {ms(d.Ticks[1]):0.00}, refresh {ms(d.Ticks[2]):0.00}, agents {ms(d.Ticks[3]):0.00}, fold/ghosts/copy {ms(d.Ticks[4]):0.00}";
        d.Calls = d.Builds = 0;
        Array.Clear(d.Ticks);
        return line;
    }

    public void ComputeDomain(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, int owned, ForceResult result)
        => ComputeDomain(species, positions, owned, default, result);

    public void ComputeDomain(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, int owned, ReadOnlySpan<int> owners, ForceResult result)
        => EvaluateDomain(species, positions, owned, owners, result, reactions: false);

    /// <inheritdoc/>
    public void ComputeDomainWithGhostReactions(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, int owned, ReadOnlySpan<int> owners, ForceResult result)
    {
        if (!HasGhostReactions) throw new NotSupportedException("an agent-mode model's forces need no ghost reactions: use ComputeDomain");
        EvaluateDomain(species, positions, owned, owners, result, reactions: true);
    }

    private void EvaluateDomain(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, int owned, ReadOnlySpan<int> owners, ForceResult result, bool reactions)
    {
        int n = species.Length;
        if (positions.Length != 3 * n) throw new ArgumentException($"{n} atoms need {3 * n} coordinates, got {positions.Length}");
        if (!owners.IsEmpty && owners.Length != n) throw new ArgumentException($"{n} atoms need {n} owners, got {owners.Length}");
        if (owned < 0 || owned > n) throw new ArgumentOutOfRangeException(nameof(owned), $"{owned} owned atoms of {n}");
        result.Resize(n);
        result.Clear();
        if (owned == 0) { _anyDomainStale?.Invoke(false); return; }
        var d = _domain ??= new DomainState(_newBackend());
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        d.Calls++;
        bool conservative = _model.Mode == ForceMode.Conservative, scatters = Scatters;
        bool rebuild = d.CallerTypes.Length != n || d.Owned != owned || d.Reactions != reactions;
        d.Reactions = reactions;
        if (d.CallerTypes.Length != n) { d.CallerTypes = new int[n]; d.CallerOwners = new int[n]; }
        for (int i = 0; i < n; i++)
        {
            int t = _set.IndexOf(species[i]);
            if (t < 0) _model.CheckSpecies(species);
            int o = i < owned || owners.IsEmpty || !scatters ? -1 : owners[i];
            if (o >= owned) throw new ArgumentException($"ghost {i}: owner {o} is not an owned atom (0..{owned - 1})");
            rebuild |= d.CallerTypes[i] != t || d.CallerOwners[i] != o;
            d.CallerTypes[i] = t;
            d.CallerOwners[i] = o;
        }
        if (!rebuild)
        {
            Reorder(d, positions, n);
            rebuild = d.List.NeedsRebuild(d.Positions.AsSpan(0, 3 * n), null);
        }
        if (_anyDomainStale is { } any) rebuild = any(rebuild) || rebuild;
        long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
        d.Ticks[0] += t1 - t0;
        if (rebuild) { BuildDomain(d, positions, n, owned, scatters); d.Builds++; }
        else d.Backend.Refresh(d.List, d.Positions.AsSpan(0, 3 * n));
        long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
        d.Ticks[rebuild ? 1 : 2] += t2 - t1;
        d.Backend.EnsureWorkers(1);
        var forces = d.Forces;
        Array.Clear(forces, 0, 3 * n);
        if (_watch && d.Extrapolation.Length < owned) { d.Extrapolation = new double[n]; d.ExtrapolationInvariant = new int[n]; }
        var walled = _wallReactions is null ? null : d.Walled.Length >= n ? d.Walled : d.Walled = new bool[n];
        result.Energy = d.Backend.Run(0, owned, 0, d.List, d.Types, forces, conservative, result.Virial, CancellationToken.None,
            _watch ? d.Extrapolation : null, _watch ? d.ExtrapolationInvariant : null, walled);
        if (walled is not null) _wallReactions!.Add(d.List, d.Types, forces, walled, 0, owned);
        if (_watch) DomainSignal(d, owned, result);
        long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
        d.Ticks[3] += t3 - t2;
        if (scatters) Fold(d, forces, owned, n);
        // The needed ghosts' losses count for the owned atoms' forces only: their energy and virial are their owners'.
        // (Agent mode: the ghost agents' own forces land on ghosts, dropped; their walls' reactions reach owned atoms.)
        if (scatters && d.Agents > owned)
        {
            d.Backend.Run(owned, d.Agents, 0, d.List, d.Types, forces, conservative, d.GhostVirial, CancellationToken.None, walled: walled);
            if (walled is not null) _wallReactions!.Add(d.List, d.Types, forces, walled, owned, d.Agents);
        }
        // Owned atoms keep their indices; with reactions no ghost is needed, so the evaluation order is the caller's.
        forces.AsSpan(0, 3 * (reactions ? n : owned)).CopyTo(result.Forces);
        d.Ticks[4] += System.Diagnostics.Stopwatch.GetTimestamp() - t3;
    }

    private void BuildDomain(DomainState d, ReadOnlySpan<double> positions, int n, int owned, bool scatters)
    {
        d.Owned = owned;
        if (d.Order.Length != n)
        {
            d.Order = new int[n]; d.Types = new int[n]; d.Needed = new bool[n];
            d.Positions = new double[3 * n]; d.Forces = new double[3 * n];
        }
        Array.Clear(d.Needed);
        if (scatters && !d.Reactions)
        {
            d.Selection.Build(positions, null, _set.Cutoff, _skin, rows: owned);
            foreach (int j in d.Selection.Index) if (j >= owned && d.CallerOwners[j] < 0) d.Needed[j] = true;
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

    /// <summary>The domain's signal: its owned atom furthest out (ghosts are other domains' owned atoms), in the caller's order.</summary>
    private void DomainSignal(DomainState d, int owned, ForceResult result)
    {
        double best = 0; int atom = -1;
        for (int i = 0; i < owned; i++) if (d.Extrapolation[i] > best) { best = d.Extrapolation[i]; atom = i; }
        result.Extrapolation = best;
        if (atom < 0) return;
        result.ExtrapolationAtom = atom;
        result.ExtrapolationInvariant = _invariantNames[d.Types[atom] * _set.Count + d.ExtrapolationInvariant[atom]];
    }

    /// <summary>Adds the owned agents' reactions on images of owned atoms to those atoms.</summary>
    private static void Fold(DomainState d, double[] forces, int owned, int n)
    {
        for (int k = owned; k < n; k++)
        {
            int o = d.CallerOwners[d.Order[k]];
            if (o < 0) continue;
            forces[3 * o] += forces[3 * k]; forces[3 * o + 1] += forces[3 * k + 1]; forces[3 * o + 2] += forces[3 * k + 2];
            if (d.Reactions) forces[3 * k] = forces[3 * k + 1] = forces[3 * k + 2] = 0; // delivered: nothing to hand back
        }
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
