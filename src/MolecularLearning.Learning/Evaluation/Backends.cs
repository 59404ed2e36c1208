using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// Which backend evaluates a model's agents (OpenMM's Platform): <see cref="Reference"/> is the scalar path of
/// <see cref="InvariantSet"/>, the oracle the fast path is tested against; <see cref="Simd"/> is
/// <see cref="SortedGaussianKernel"/>; <see cref="Auto"/> takes Simd when it can and says why when it cannot.
/// </summary>
public enum BackendChoice { Auto, Reference, Simd }

public static class BackendChoices
{
    /// <summary>The values `--backend` and the Model:Backend setting accept.</summary>
    public const string Help = "auto|reference|simd";

    /// <summary>Parses auto, reference or simd (any case); <paramref name="where"/> names the option or setting in the error.</summary>
    public static BackendChoice Parse(string text, string where = "backend") => text.Trim().ToLowerInvariant() switch
    {
        "auto" => BackendChoice.Auto,
        "reference" => BackendChoice.Reference,
        "simd" => BackendChoice.Simd,
        _ => throw new DataException($"{where}: '{text}' is not one of {Help}"),
    };

    public static string Name(this BackendChoice choice) => choice.ToString().ToLowerInvariant();
}

/// <summary>
/// The arithmetic of the per-pair stages (<c>--precision</c>): <see cref="Double"/> throughout (the default, the results of
/// every release), or <see cref="Mixed"/>: the Simd backend's Gaussian exponentials (radial and angular sums) in single
/// precision, twice the lanes per vector, while distances, sums, loss, forces, energy and virial stay double. Reference and
/// the fit are always double; Mixed on the Reference backend is refused (<see cref="AgentBackend.Create"/>).
/// </summary>
public enum Precision { Double, Mixed }

public static class Precisions
{
    /// <summary>The values `--precision` and the Model:Precision setting accept.</summary>
    public const string Help = "double|mixed";

    /// <summary>Parses double or mixed (any case); <paramref name="where"/> names the option or setting in the error.</summary>
    public static Precision Parse(string text, string where = "precision") => text.Trim().ToLowerInvariant() switch
    {
        "double" => Precision.Double,
        "mixed" => Precision.Mixed,
        _ => throw new DataException($"{where}: '{text}' is not one of {Help}"),
    };

    public static string Name(this Precision precision) => precision.ToString().ToLowerInvariant();
}

/// <summary>
/// Evaluates ranges of agents for <see cref="LearnedForceField"/>, which owns the neighbour list, the chunks and the
/// reduction. One instance per force field; per-worker scratch inside.
/// </summary>
internal abstract class AgentBackend
{
    /// <summary>Agents between two looks at the cancellation token.</summary>
    protected const int CancellationStride = 64;

    public abstract BackendInfo Info { get; }

    /// <summary>
    /// Brings the neighbour list up to date, in the row layout this backend reads; built anew when <paramref name="build"/>
    /// (the atoms' species or order changed), otherwise only when an atom moved too far.
    /// </summary>
    public abstract void UpdateList(NeighbourList list, ReadOnlySpan<double> positions, Cell? cell, int[] types, bool build, double skin);

    /// <summary>
    /// Builds rows for atoms [0, <paramref name="rows"/>) only (an MPI domain's owned and needed ghost atoms), no
    /// periodic cell, in the row layout this backend reads.
    /// </summary>
    public abstract void BuildRows(NeighbourList list, ReadOnlySpan<double> positions, int[] types, double skin, int rows);

    /// <summary>Moves the atoms of a list without rebuilding it, when the caller knows it still holds (an MPI domain's list from <see cref="BuildRows"/>, a spatially ordered frame).</summary>
    public abstract void Refresh(NeighbourList list, ReadOnlySpan<double> positions);

    /// <summary>Makes scratch for workers [0, <paramref name="workers"/>).</summary>
    public abstract void EnsureWorkers(int workers);

    /// <summary>
    /// Agents [from, to): forces (agent mode: F_i written; conservative: reactions added), the range's virial written
    /// to <paramref name="virial"/>, its energy returned. Throws <see cref="OperationCanceledException"/> within
    /// <see cref="CancellationStride"/> agents of <paramref name="cancellation"/> firing. With <paramref name="extrapolation"/>
    /// (the model has training ranges), each agent's extrapolation signal and the invariant giving it (−1: inside) go to [i].
    /// With <paramref name="walled"/>, whether agent i's range walls act goes to [i] (<see cref="WallReactions"/>).
    /// </summary>
    public abstract double Run(int from, int to, int worker, NeighbourList list, int[] types, double[] forces, bool conservative,
        Span<double> virial, CancellationToken cancellation, double[]? extrapolation = null, int[]? extrapolationInvariant = null, bool[]? walled = null);

    /// <summary>
    /// The backend <paramref name="choice"/> asks for. <paramref name="vectorBits"/> forces a SIMD width (0: the widest).
    /// <paramref name="note"/> says why <see cref="BackendChoice.Auto"/> fell back to Reference (null when it did not).
    /// </summary>
    /// <exception cref="DataException">Simd asked for and not usable here, with the reason.</exception>
    /// <exception cref="DataException">Mixed precision on a model or machine that ends up on Reference: refused, not silently double.</exception>
    /// <remarks><paramref name="softwareVectors"/> (tests): the width's kernel even where this CPU does not accelerate it (<see cref="SortedGaussianKernel.Create"/>).</remarks>
    public static AgentBackend Create(LearnedModel model, BackendChoice choice, int vectorBits, bool tabulatedRadial, out string? note, Precision precision = Precision.Double,
        bool softwareVectors = false)
    {
        note = null;
        bool mixed = precision == Precision.Mixed;
        if (choice == BackendChoice.Reference)
            return mixed ? throw new DataException("--precision mixed needs the simd backend (the reference backend is double only)") : new ReferenceBackend(model, tabulatedRadial);
        if (SortedGaussianKernel.Create(model, vectorBits, mixed, softwareVectors) is { } kernel) return new SimdBackend(kernel, model.Invariants);
        string why = SortedGaussianKernel.Unsupported(model) is { } reason
            ? $"the SIMD kernel does not compute this model: {reason}"
            : vectorBits > 0 ? $"no {vectorBits}-bit SIMD on this machine" : "no SIMD hardware the kernel runs on";
        if (choice == BackendChoice.Simd) throw new DataException($"backend simd: {why}; use --backend reference or auto");
        if (mixed) throw new DataException($"--precision mixed needs the simd backend, and auto cannot use it ({why}); use --precision double");
        note = $"backend auto: reference, the slow path ({why})";
        return new ReferenceBackend(model, tabulatedRadial);
    }
}

/// <summary>The scalar path: <see cref="InvariantSet"/> gathers, values and gradients per agent, then the wall. The oracle.</summary>
internal sealed class ReferenceBackend(LearnedModel model, bool tabulatedRadial) : AgentBackend
{
    private readonly InvariantSet _set = model.Invariants;
    private readonly QuadraticLoss[] _losses = [.. model.Losses];
    private readonly ExtrapolationMonitor? _monitor = ExtrapolationMonitor.Create(model);
    private AgentScratch[] _workers = [];

    public override BackendInfo Info { get; } = new("reference", 0);

    public override void UpdateList(NeighbourList list, ReadOnlySpan<double> positions, Cell? cell, int[] types, bool build, double skin)
    {
        if (build) list.Build(positions, cell, _set.Cutoff, skin);
        else list.Update(positions, cell, _set.Cutoff, skin);
    }

    public override void BuildRows(NeighbourList list, ReadOnlySpan<double> positions, int[] types, double skin, int rows) =>
        list.Build(positions, null, _set.Cutoff, skin, rows);

    public override void Refresh(NeighbourList list, ReadOnlySpan<double> positions) => list.Refresh(positions);

    public override void EnsureWorkers(int workers)
    {
        if (_workers.Length >= workers) return;
        int have = _workers.Length;
        Array.Resize(ref _workers, workers);
        for (int w = have; w < workers; w++) _workers[w] = new AgentScratch(_set.Count) { TabulatedRadial = tabulatedRadial };
    }

    public override double Run(int from, int to, int worker, NeighbourList list, int[] types, double[] forces, bool conservative,
        Span<double> virial, CancellationToken cancellation, double[]? extrapolation = null, int[]? extrapolationInvariant = null, bool[]? walled = null)
    {
        var s = _workers[worker];
        bool watch = _monitor is not null && extrapolation is not null && extrapolationInvariant is not null;
        double wxx = 0, wxy = 0, wxz = 0, wyx = 0, wyy = 0, wyz = 0, wzx = 0, wzy = 0, wzz = 0;
        double energy = 0;
        int t = _set.Species.Count;
        var wallR = model.WallRMin;
        var wallK = model.WallStrength;
        for (int i = from; i < to; i++)
        {
            if ((i - from) % CancellationStride == 0) cancellation.ThrowIfCancellationRequested();
            int ti = types[i];
            _set.Gather(s, i, list, types);
            _set.ComputeValues(s);
            double loss = _losses[ti].Evaluate(s.Values.AsSpan(0, _set.Count), s.Lambda);
            if (watch) extrapolation![i] = _monitor!.Agent(ti, s.Values.AsSpan(0, _set.Count), out extrapolationInvariant![i]);
            if (walled is not null) walled[i] = _losses[ti].InWall(s.Values.AsSpan(0, _set.Count));
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
        virial[0] = wxx; virial[1] = wxy; virial[2] = wxz; virial[3] = wyx; virial[4] = wyy; virial[5] = wyz; virial[6] = wzx; virial[7] = wzy; virial[8] = wzz;
        return energy;
    }
}

/// <summary>The fused SIMD kernel (<see cref="SortedGaussianKernel"/>); reads rows grouped by neighbour species, padded.</summary>
internal sealed class SimdBackend(SortedGaussianKernel kernel, InvariantSet set) : AgentBackend
{
    private readonly InvariantSet _set = set;
    private readonly PaddedCoordinates _padded = new();
    private KernelScratch[] _workers = [];

    public override BackendInfo Info { get; } = new("simd", kernel.VectorBits, kernel.Mixed ? "mixed" : "double");

    public override void UpdateList(NeighbourList list, ReadOnlySpan<double> positions, Cell? cell, int[] types, bool build, double skin)
    {
        // The kernel reads each neighbour species as one run of the row: rows grouped by type, regrouped when types change.
        list.SetGrouping(types, _set.Species.Count);
        if (build || list.GroupCount == 0) list.Build(positions, cell, _set.Cutoff, skin);
        else list.Update(positions, cell, _set.Cutoff, skin);
        _padded.Update(list);
    }

    public override void BuildRows(NeighbourList list, ReadOnlySpan<double> positions, int[] types, double skin, int rows)
    {
        list.SetGrouping(types, _set.Species.Count);
        list.Build(positions, null, _set.Cutoff, skin, rows);
        _padded.Update(list);
    }

    public override void Refresh(NeighbourList list, ReadOnlySpan<double> positions)
    {
        list.Refresh(positions);
        _padded.Update(list);
    }

    public override void EnsureWorkers(int workers)
    {
        if (_workers.Length >= workers) return;
        int have = _workers.Length;
        Array.Resize(ref _workers, workers);
        for (int w = have; w < workers; w++) _workers[w] = new KernelScratch();
    }

    public override double Run(int from, int to, int worker, NeighbourList list, int[] types, double[] forces, bool conservative,
        Span<double> virial, CancellationToken cancellation, double[]? extrapolation = null, int[]? extrapolationInvariant = null, bool[]? walled = null)
    {
        var s = _workers[worker];
        // Without a token the range runs in one call, so sums are grouped exactly as before backends existed.
        if (!cancellation.CanBeCanceled) return kernel.Run(from, to, s, list, _padded, types, forces, conservative, virial, extrapolation, extrapolationInvariant, walled);
        double energy = 0;
        Span<double> part = stackalloc double[9];
        virial.Clear();
        for (int a = from; a < to; a += CancellationStride)
        {
            cancellation.ThrowIfCancellationRequested();
            energy += kernel.Run(a, Math.Min(to, a + CancellationStride), s, list, _padded, types, forces, conservative, part, extrapolation, extrapolationInvariant, walled);
            for (int k = 0; k < 9; k++) virial[k] += part[k];
        }
        return energy;
    }
}
