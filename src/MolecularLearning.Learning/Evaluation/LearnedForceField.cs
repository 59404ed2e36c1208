using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// Evaluates a <see cref="LearnedModel"/>: energy Σ_i L_i, forces (agent or conservative) and virial.
/// Keeps a Verlet neighbour list (cutoff + skin) across calls and preallocated per-worker scratch, so a
/// steady-state step allocates nothing. Systems from <see cref="ParallelThreshold"/> atoms up are split into
/// atom chunks (how many depends on the atom count and mode only) run on the shared <see cref="ParallelRunner"/>
/// (allocation-free, unlike Parallel.For); each chunk owns its partial sums, reduced in chunk order, so results
/// do not depend on thread scheduling or thread count.
/// The neighbour list is compact (6 bytes an entry, rows computed on demand), so 10^6 atoms fit in memory.
/// The agents themselves are evaluated by a backend (<see cref="BackendChoice"/>, <see cref="Backend"/>): Reference, the
/// scalar <see cref="InvariantSet"/> path, or Simd, the fused kernel.
/// </summary>
/// <remarks>
/// Virial: W_ab = −Σ_i Σ_e (∂L_i/∂d_e)_a d_e,b over the neighbour displacements d_e = x_e − x_i, i.e.
/// −∂(Σ_i L_i)/∂ε. In conservative mode that is the exact strain derivative of the energy. In agent mode it
/// is the virial of the pairwise decomposition of the agent forces (the pull p_ie = ∂L_i/∂d_e on agent i with
/// its reaction on the neighbour), which again equals −∂(Σ L_i)/∂ε of the reported energy.
/// </remarks>
public sealed partial class LearnedForceField : IForceField, IParallelWork
{
    /// <summary>Atoms below which evaluation stays on the calling thread (the 96-atom box already gains from two threads).</summary>
    public const int ParallelThreshold = 64;
    /// <summary>Most chunks an agent-mode evaluation is split into (128 atoms each, or up to 8 of at least 16 in small boxes).</summary>
    private const int MaxAgentChunks = 64;

    private readonly LearnedModel _model;
    private readonly InvariantSet _set;
    private readonly double _skin;
    private readonly int _maxThreads;
    private readonly NeighbourList _list = new(NeighbourStorage.Compact);
    private readonly AgentBackend _backend;
    // A second backend of the same kind for MPI domains (its padded rows belong to the domain's list).
    private readonly Func<AgentBackend> _newBackend;
    private int[] _types = [];                          // per list atom (a slot when spatially ordered): its species index
    private int[] _callerTypes = [];                    // per caller's atom: its species index
    private Chunk[] _chunks = [];
    private int _atoms;
    private double[] _forces = [];
    private readonly bool _watch;                      // the model has training ranges: compute the extrapolation signal
    private double[] _atomExtrapolation = [];
    private int[] _atomInvariant = [];
    private readonly string[] _invariantNames;         // [agent species × K + q]: "O: r1(H)", built once so a step allocates nothing
    private CancellationToken _cancellation;
    private readonly WallReactions? _wallReactions;    // agent mode, WallForces.Gradient: the range walls' reactions on neighbours
    private bool[] _walled = [];                        // per agent: its range walls act (the backends mark it)
    // From SpatialOrderAtoms atoms up the list, the backend and every per-atom array run on slots in SpatialOrder (re-sorted
    // at each list build); the caller's order is restored on the way out.
    private readonly SpatialOrder _spatial = new();
    private bool _ordered;                              // the last evaluation ran on slots
    private bool _listStale = true;                     // a build was due and did not finish (refused input): build on the next call
    private double[] _slotPositions = [], _slotForces = [];
    private double[] _callerExtrapolation = [];
    private int[] _atomNumbers = [];                    // per slot: the caller's atom (the list's error messages name it)

    /// <summary>
    /// Atoms from which the evaluation runs in <see cref="SpatialOrder"/> (below, the positions fit the first cache level:
    /// nothing to gain). On a shuffled water box (agent default, 1 thread) it is 2× faster at 10⁶ atoms (integration/bench/order.sh).
    /// </summary>
    public const int SpatialOrderAtoms = 1024;

    /// <summary>Atoms from which this evaluator runs in spatial order (tests move it to compare both paths on one frame).</summary>
    internal int SpatialOrderFrom { get; set; } = SpatialOrderAtoms;

    /// <summary>A range of agents and its results (reduced in chunk order, so independent of the thread count).</summary>
    private sealed class Chunk
    {
        public readonly double[] Virial = new double[9];
        public double Energy;
        public double[] Forces = []; // conservative mode split into chunks: this chunk's 3N force sums
        public int From, To;
    }

    /// <summary>
    /// An evaluator on the <paramref name="backend"/> asked for; <see cref="BackendChoice.Simd"/> throws
    /// <see cref="DataException"/> (with the reason) when the model or the machine cannot use it.
    /// </summary>
    public LearnedForceField(LearnedModel model, double skin = 0.5, int maxThreads = 0, BackendChoice backend = BackendChoice.Auto)
        : this(model, skin, maxThreads, backend, vectorBits: 0, tabulatedRadial: true) { }

    /// <summary>As above, at <paramref name="precision"/>: <see cref="Precision.Mixed"/> throws <see cref="DataException"/> unless the Simd backend runs.</summary>
    public LearnedForceField(LearnedModel model, double skin, int maxThreads, BackendChoice backend, Precision precision)
        : this(model, skin, maxThreads, backend, vectorBits: 0, tabulatedRadial: true, precision) { }

    /// <summary>
    /// With the switches tests use: <paramref name="vectorBits"/> forces the Simd backend's width (0: widest);
    /// <paramref name="tabulatedRadial"/> false makes the Reference backend evaluate Gaussians exactly instead of
    /// from the Hermite table; <paramref name="softwareVectors"/> runs a width this CPU lacks in software vectors
    /// (<see cref="SortedGaussianKernel.Create"/>).
    /// </summary>
    internal LearnedForceField(LearnedModel model, double skin, int maxThreads, BackendChoice backend, int vectorBits, bool tabulatedRadial,
        Precision precision = Precision.Double, bool softwareVectors = false)
    {
        _backend = AgentBackend.Create(model, backend, vectorBits, tabulatedRadial, out var note, precision, softwareVectors);
        _newBackend = () => AgentBackend.Create(model, backend, vectorBits, tabulatedRadial, out _, precision, softwareVectors);
        BackendNote = note;
        _model = model;
        _set = model.Invariants;
        _skin = skin;
        _maxThreads = maxThreads > 0 ? maxThreads : Environment.ProcessorCount;
        Name = $"learned loss (order {model.Order}, {model.Mode.Name()}, cutoff {model.Cutoff:0.##} Å)";
        _watch = model.Losses.All(l => l.Range is not null);
        // The Simd backend's functions are exact: its walls' reactions come from the exact Reference path too.
        if (model.WallReactions) _wallReactions = new WallReactions(model, tabulatedRadial && _backend is ReferenceBackend);
        // Labels name the neighbour species, not the agent's: prefixed with the agent's symbol.
        _invariantNames = [.. _set.Species.SelectMany(sp => _set.Labels.Select(label => $"{sp.Symbol}: {label}"))];
    }

    public string Name { get; }
    public LearnedModel Model => _model;
    /// <summary>The neighbour list used for the last evaluation (for diagnostics and tests).</summary>
    public NeighbourList NeighbourList => _list;
    /// <summary>The backend evaluating the agents and its SIMD width.</summary>
    public BackendInfo Backend => _backend.Info;
    /// <summary>Why <see cref="BackendChoice.Auto"/> took the Reference backend (one line, to show once), or null.</summary>
    public string? BackendNote { get; }
    /// <summary>Whether the model records training ranges, so results carry the extrapolation signal (otherwise NaN).</summary>
    public bool ReportsExtrapolation => _watch;
    /// <summary>Per atom, the extrapolation signal of the last evaluation (empty when <see cref="ReportsExtrapolation"/> is false).</summary>
    public ReadOnlySpan<double> AtomExtrapolation => !_watch ? default : _ordered ? _callerExtrapolation.AsSpan(0, _atoms) : _atomExtrapolation.AsSpan(0, _atoms);
    /// <summary>Agent mode with <see cref="WallForces.Gradient"/>: how many agents' range walls acted in the last evaluation (their reactions added).</summary>
    public int WallReactionCount { get; private set; }

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result) =>
        Compute(species, positions, cell, result, CancellationToken.None);

    /// <summary>As the other overload; the token is looked at every 64 agents (a deadline stops a large evaluation).</summary>
    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result,
        CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        int n = species.Length;
        if (positions.Length != 3 * n) throw new ArgumentException($"{n} atoms need {3 * n} coordinates, got {positions.Length}");
        bool typesChanged = _callerTypes.Length != n;
        if (typesChanged) _callerTypes = new int[n];
        for (int i = 0; i < n; i++)
        {
            int t = _set.IndexOf(species[i]);
            if (t < 0) _model.CheckSpecies(species);
            typesChanged |= _callerTypes[i] != t;
            _callerTypes[i] = t;
        }
        bool ordered = n >= SpatialOrderFrom;
        bool build = typesChanged || ordered != _ordered || _listStale;
        _ordered = ordered;
        if (ordered) build |= Reorder(positions, cell, build);
        else
        {
            _types = _callerTypes;
            _list.AtomNumbers = null;
        }
        // Until the build succeeds the list does not match the new order or species: a refused frame leaves it stale.
        _listStale = build;
        var listPositions = ordered ? _slotPositions.AsSpan(0, 3 * n) : positions;
        if (ordered && !build) _backend.Refresh(_list, listPositions); // Reorder found the list good for these positions
        else _backend.UpdateList(_list, listPositions, cell, _types, build, _skin);
        _listStale = false;
        result.Resize(n);
        Prepare(n);
        // Worker indices stay below the team size of this call (settable between calls).
        _backend.EnsureWorkers(_list.Runner.MaxWorkers);
        _forces = ordered ? _slotForces : result.Forces;
        _cancellation = cancellation;
        bool conservative = _model.Mode == ForceMode.Conservative;
        try
        {
            if (_chunks.Length == 1) RunChunk(0, 0);
            else _list.Runner.Run(this, _chunks.Length);
        }
        finally { _cancellation = default; }
        if (_wallReactions is not null) WallReactionCount = _wallReactions.Add(_list, _types, _forces, _walled, 0, n);
        if (_chunks.Length > 1 && conservative)
        {
            Array.Copy(_chunks[0].Forces, _forces, 3 * n);
            for (int k = 1; k < _chunks.Length; k++)
            {
                var f = _chunks[k].Forces;
                for (int x = 0; x < 3 * n; x++) _forces[x] += f[x];
            }
        }
        double energy = 0;
        Span<double> virial = result.Virial;
        virial.Clear();
        for (int k = 0; k < _chunks.Length; k++)
        {
            energy += _chunks[k].Energy;
            for (int a = 0; a < 9; a++) virial[a] += _chunks[k].Virial[a];
        }
        result.Energy = energy;
        var order = _spatial.Order;
        if (ordered)
        {
            var f = result.Forces;
            for (int a = 0; a < n; a++)
            {
                int i = 3 * order[a];
                f[i] = _forces[3 * a]; f[i + 1] = _forces[3 * a + 1]; f[i + 2] = _forces[3 * a + 2];
            }
        }
        // The frame's signal: the atom furthest out (the first of equals, in the caller's order), and its invariant.
        result.Extrapolation = double.NaN; result.ExtrapolationAtom = -1; result.ExtrapolationInvariant = null;
        if (_watch)
        {
            var signal = _atomExtrapolation;
            if (ordered)
            {
                for (int a = 0; a < n; a++) _callerExtrapolation[order[a]] = _atomExtrapolation[a];
                signal = _callerExtrapolation;
            }
            double best = 0; int atom = -1;
            for (int i = 0; i < n; i++) if (signal[i] > best) { best = signal[i]; atom = i; }
            result.Extrapolation = best;
            if (atom >= 0)
            {
                result.ExtrapolationAtom = atom;
                int slot = ordered ? order.IndexOf(atom) : atom;
                result.ExtrapolationInvariant = _invariantNames[_callerTypes[atom] * _set.Count + _atomInvariant[slot]];
            }
        }
    }

    /// <summary>
    /// The caller's positions gathered into slots. The order is computed anew (and true returned: the list must be built)
    /// when <paramref name="build"/> is already due or the list would be rebuilt anyway, so the order follows the atoms
    /// as they diffuse at no extra build.
    /// </summary>
    private bool Reorder(ReadOnlySpan<double> positions, Cell? cell, bool build)
    {
        int n = _callerTypes.Length;
        if (_slotPositions.Length != 3 * n)
        {
            _slotPositions = new double[3 * n];
            _slotForces = new double[3 * n];
            _types = new int[n];
            build = true;
        }
        if (!build) // slots sized for n: the order was computed for these atoms at the last build
        {
            Gather(positions);
            if (_list.Cutoff == _set.Cutoff && _list.Skin == _skin && !_list.NeedsRebuild(_slotPositions, cell)) return false;
        }
        _spatial.Compute(positions, cell, _set.Cutoff / 2);
        Gather(positions);
        var order = _spatial.Order;
        for (int a = 0; a < n; a++) _types[a] = _callerTypes[order[a]];
        if (_atomNumbers.Length != n) _atomNumbers = new int[n];
        order.CopyTo(_atomNumbers);
        _list.AtomNumbers = _atomNumbers;
        return true;
    }

    private void Gather(ReadOnlySpan<double> positions)
    {
        var order = _spatial.Order;
        for (int a = 0; a < order.Length; a++)
        {
            int i = 3 * order[a];
            _slotPositions[3 * a] = positions[i]; _slotPositions[3 * a + 1] = positions[i + 1]; _slotPositions[3 * a + 2] = positions[i + 2];
        }
    }

    private void Prepare(int n)
    {
        if (n == _atoms && _chunks.Length > 0) return;
        _atoms = n;
        if (_watch) { _atomExtrapolation = new double[n]; _atomInvariant = new int[n]; _callerExtrapolation = new double[n]; }
        if (_wallReactions is not null) _walled = new bool[n];
        // Agent mode: many small chunks handed out dynamically, so a thread slowed by another process does not
        // hold the other up at the join (two equal halves did: 1.6-1.7x on two shared cores); the count depends
        // on n only. Conservative mode keeps one chunk a thread: each chunk owns a 3N force array.
        int count = n < ParallelThreshold || _maxThreads == 1 ? 1
            : _model.Mode == ForceMode.Agent ? Math.Min(MaxAgentChunks, Math.Max(n / 128, Math.Min(8, n / 16)))
            : Math.Min(_maxThreads, n / (ParallelThreshold / 2));
        if (_chunks.Length != count)
        {
            _chunks = new Chunk[count];
            for (int k = 0; k < count; k++) _chunks[k] = new Chunk();
        }
        for (int k = 0; k < count; k++)
        {
            _chunks[k].From = (int)((long)n * k / count);
            _chunks[k].To = (int)((long)n * (k + 1) / count);
            if (count > 1 && _model.Mode == ForceMode.Conservative && _chunks[k].Forces.Length != 3 * n)
                _chunks[k].Forces = new double[3 * n];
        }
    }

    void IParallelWork.Execute(int chunk, int worker) => RunChunk(chunk, worker);

    private void RunChunk(int index, int worker)
    {
        var c = _chunks[index];
        bool conservative = _model.Mode == ForceMode.Conservative;
        // Conservative forces are sums of every agent's reactions, from zero: split runs sum each chunk into its own array.
        var forces = conservative && _chunks.Length > 1 ? c.Forces : _forces;
        if (conservative) Array.Clear(forces);
        c.Energy = _backend.Run(c.From, c.To, worker, _list, _types, forces, conservative, c.Virial, _cancellation,
            _watch ? _atomExtrapolation : null, _watch ? _atomInvariant : null, _wallReactions is not null ? _walled : null);
    }
}
