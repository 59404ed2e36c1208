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
    private readonly QuadraticLoss[] _losses;
    private readonly double _skin;
    private readonly int _maxThreads;
    private readonly NeighbourList _list = new(NeighbourStorage.Compact);
    private int[] _types = [];
    private Chunk[] _chunks = [];
    private WorkerScratch[] _workers = [];
    private int _atoms;
    private double[] _forces = [];
    private readonly SortedGaussianKernel? _kernel;
    private readonly bool _tabulatedRadial;
    private readonly PaddedCoordinates _padded = new();

    /// <summary>A range of agents and its results (reduced in chunk order, so independent of the thread count).</summary>
    private sealed class Chunk
    {
        public readonly double[] Virial = new double[9];
        public double Energy;
        public double[] Forces = []; // conservative mode split into chunks: this chunk's 3N force sums
        public int From, To;
    }

    /// <summary>
    /// Per worker thread: scratch the agents' evaluation reuses. Per worker, not per chunk: a thread running many
    /// small chunks reuses one set of buffers (two sets on two threads instead of up to 64).
    /// </summary>
    private sealed class WorkerScratch(int invariants, bool tabulatedRadial)
    {
        public readonly AgentScratch Agent = new(invariants) { TabulatedRadial = tabulatedRadial };
        public readonly KernelScratch Kernel = new();
    }

    public LearnedForceField(LearnedModel model, double skin = 0.5, int maxThreads = 0)
        : this(model, skin, maxThreads, fastKernel: true, tabulatedRadial: true) { }

    /// <summary>
    /// With the switches tests use: <paramref name="fastKernel"/> false forces the generic invariant path even
    /// for the default families; <paramref name="tabulatedRadial"/> false makes the generic path evaluate
    /// Gaussians exactly instead of from the Hermite table.
    /// </summary>
    internal LearnedForceField(LearnedModel model, double skin, int maxThreads, bool fastKernel, bool tabulatedRadial)
    {
        _kernel = fastKernel ? SortedGaussianKernel.TryCreate(model) : null;
        _tabulatedRadial = tabulatedRadial;
        _model = model;
        _set = model.Invariants;
        _losses = [.. model.Losses];
        _skin = skin;
        _maxThreads = maxThreads > 0 ? maxThreads : Environment.ProcessorCount;
        Name = $"learned loss (order {model.Order}, {model.Mode.Name()}, cutoff {model.Cutoff:0.##} Å)";
    }

    public string Name { get; }
    public LearnedModel Model => _model;
    /// <summary>The neighbour list used for the last evaluation (for diagnostics and tests).</summary>
    public NeighbourList NeighbourList => _list;
    /// <summary>True when the model's families take the fused SIMD kernel (<see cref="SortedGaussianKernel"/>) rather than the generic path.</summary>
    public bool UsesFastKernel => _kernel is not null;

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        int n = species.Length;
        if (positions.Length != 3 * n) throw new ArgumentException($"{n} atoms need {3 * n} coordinates, got {positions.Length}");
        bool typesChanged = _types.Length != n;
        if (typesChanged) _types = new int[n];
        for (int i = 0; i < n; i++)
        {
            int t = _set.IndexOf(species[i]);
            if (t < 0) _model.CheckSpecies(species);
            typesChanged |= _types[i] != t;
            _types[i] = t;
        }
        if (_kernel is not null)
        {
            // The kernel reads each neighbour species as one run of the row: rows grouped by type, regrouped when types change.
            _list.SetGrouping(_types, _set.Species.Count);
            if (typesChanged || _list.GroupCount == 0) _list.Build(positions, cell, _set.Cutoff, _skin);
            else _list.Update(positions, cell, _set.Cutoff, _skin);
            _padded.Update(_list);
        }
        else _list.Update(positions, cell, _set.Cutoff, _skin);
        result.Resize(n);
        Prepare(n);
        // Worker indices stay below the team size of this call (settable between calls).
        if (_workers.Length < _list.Runner.MaxWorkers)
        {
            int have = _workers.Length;
            Array.Resize(ref _workers, _list.Runner.MaxWorkers);
            for (int w = have; w < _workers.Length; w++) _workers[w] = new WorkerScratch(_set.Count, _tabulatedRadial);
        }
        _forces = result.Forces;
        bool conservative = _model.Mode == ForceMode.Conservative;
        if (_chunks.Length == 1) RunChunk(0, 0);
        else
        {
            _list.Runner.Run(this, _chunks.Length);
            if (conservative)
            {
                Array.Copy(_chunks[0].Forces, _forces, 3 * n);
                for (int k = 1; k < _chunks.Length; k++)
                {
                    var f = _chunks[k].Forces;
                    for (int x = 0; x < 3 * n; x++) _forces[x] += f[x];
                }
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
    }

    private void Prepare(int n)
    {
        if (n == _atoms && _chunks.Length > 0) return;
        _atoms = n;
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
        c.Energy = EvaluateAgents(c.From, c.To, worker, _list, _padded, _types, forces, conservative, c.Virial);
    }

    /// <summary>
    /// Evaluates agents [from, to) on <paramref name="list"/>: returns the sum of their losses, sets
    /// <paramref name="virial"/> to their virial and writes their forces (agent mode: on the agents; conservative
    /// mode: added to <paramref name="forces"/> on the agents and their neighbours).
    /// </summary>
    private double EvaluateAgents(int from, int to, int worker, NeighbourList list, PaddedCoordinates padded, int[] types,
        double[] forces, bool conservative, Span<double> virial)
    {
        if (_kernel is not null)
            return _kernel.Run(from, to, _workers[worker].Kernel, list, padded, types, forces, conservative, virial);
        var s = _workers[worker].Agent;
        Span<double> w = virial;
        double wxx = 0, wxy = 0, wxz = 0, wyx = 0, wyy = 0, wyz = 0, wzx = 0, wzy = 0, wzz = 0;
        double energy = 0;
        int t = _set.Species.Count;
        var wallR = _model.WallRMin;
        var wallK = _model.WallStrength;
        for (int i = from; i < to; i++)
        {
            int ti = types[i];
            _set.Gather(s, i, list, types);
            _set.ComputeValues(s);
            double loss = _losses[ti].Evaluate(s.Values.AsSpan(0, _set.Count), s.Lambda);
            var sink = new LossGradientSink(s);
            _set.ComputeGradient(s, ref sink);
            int entries = s.Entries;
            // The fixed wall under the learned loss.
            for (int e = 0; e < entries; e++)
            {
                int pair = ti * t + s.Type[e];
                double gap = wallR[pair] - s.R[e];
                if (gap <= 0) continue;
                double k = wallK[pair];
                loss += k * gap * gap * gap;
                double dl = -3 * k * gap * gap;
                s.Gx[e] += dl * s.Ux[e]; s.Gy[e] += dl * s.Uy[e]; s.Gz[e] += dl * s.Uz[e];
            }
            energy += loss;
            double fx = 0, fy = 0, fz = 0;
            for (int e = 0; e < entries; e++)
            {
                double gx = s.Gx[e], gy = s.Gy[e], gz = s.Gz[e];
                fx += gx; fy += gy; fz += gz;
                double dx = s.Dx[e], dy = s.Dy[e], dz = s.Dz[e];
                // Virial in registers: nine read-modify-writes of the chunk's array per entry were a memory-bound chain.
                wxx -= gx * dx; wxy -= gx * dy; wxz -= gx * dz;
                wyx -= gy * dx; wyy -= gy * dy; wyz -= gy * dz;
                wzx -= gz * dx; wzy -= gz * dy; wzz -= gz * dz;
                if (conservative)
                {
                    int j = 3 * s.Atom[e];
                    forces[j] -= gx; forces[j + 1] -= gy; forces[j + 2] -= gz;
                }
            }
            if (conservative) { forces[3 * i] += fx; forces[3 * i + 1] += fy; forces[3 * i + 2] += fz; }
            else { forces[3 * i] = fx; forces[3 * i + 1] = fy; forces[3 * i + 2] = fz; }
        }
        w[0] = wxx; w[1] = wxy; w[2] = wxz; w[3] = wyx; w[4] = wyy; w[5] = wyz; w[6] = wzx; w[7] = wzy; w[8] = wzz;
        return energy;
    }
}
