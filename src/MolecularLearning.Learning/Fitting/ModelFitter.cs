using System.Diagnostics;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// Fits the agent losses by ridge-regularised linear least squares on forces (method.md, "Fitting"):
/// the force is linear in θ = (b, upper triangle of C), so each training atom contributes three rows
/// of a design matrix. Agent mode fits each species on its own atoms; conservative mode fits all species
/// together on every atom, since an agent's loss also pushes its neighbours.
/// </summary>
public static partial class ModelFitter
{
    private static FitResult FitOnce(IReadOnlyList<Frame> frames, FitOptions options, IProgress<double>? progress)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        if (frames.Count == 0) throw new DataException("no frames to fit");
        var species = new List<Species>();
        foreach (var f in frames)
            foreach (var s in f.Species)
                if (!species.Any(x => x.Symbol == s.Symbol)) species.Add(s);
        var set = new InvariantSet(options.Invariants, species);

        var (usable, targets) = Targets(frames, options.Target);
        int nHold = (int)Math.Round(usable.Count * options.HoldoutFraction);
        int nTrain = usable.Count - nHold;
        if (nTrain < 1) throw new DataException($"{usable.Count} usable frames leave none to train on after holding out {nHold}");
        var train = usable.GetRange(0, nTrain);
        var hold = usable.GetRange(nTrain, nHold);
        // Conservative rows cover every atom and columns every species: a quarter of the frames gives a
        // system of similar size and well over-determined.
        int autoFrames = options.Mode == ForceMode.Conservative ? Math.Max(1, options.AutoStrideFrames / 4) : options.AutoStrideFrames;
        int stride = options.Stride > 0 ? options.Stride : Math.Max(1, (int)Math.Ceiling(nTrain / (double)autoFrames));
        var used = new List<int>();
        for (int i = 0; i < train.Count; i += stride) used.Add(train[i]);
        // Folds: the ridge is chosen by cross-validation over contiguous blocks of all the used frames (CrossValidation).
        int folds = options.Folds > 0 && options.Ridge is null ? Math.Min(options.Folds, used.Count) : 0;
        if (folds < 2) folds = 0;
        int nVal = folds == 0 && used.Count >= 5 && options.Ridge is null ? (int)Math.Round(used.Count * options.ValidationFraction) : 0;
        var fitFrames = used.GetRange(0, used.Count - nVal);
        var valFrames = used.GetRange(used.Count - nVal, nVal);

        var walls = options.RepulsionStrength > 0 ? Walls(frames, used, set, options) : [];
        var wallModel = new LearnedModel(set, options.Mode, species.Select(_ => new QuadraticLoss(new double[set.Count], null)).ToList(), walls);

        int k = set.Count;
        // Invariants of the families fitted quadratically (all unless --linear names some): the others only get b.
        var bondedLinear = options.Bonded?.InvariantsIn(set) ?? [];
        int[] quadratic = [.. Enumerable.Range(0, k).Where(q => !options.LinearFamilies.Contains(set.FamilyOf(q)) && !bondedLinear.Contains(q))];
        int nq = quadratic.Length;
        int perSpecies = k + (options.Order == 2 ? nq * (nq + 1) / 2 : 0);
        bool conservative = options.Mode == ForceMode.Conservative;
        int groups = conservative ? 1 : species.Count;
        int columns = conservative ? perSpecies * species.Count : perSpecies;

        // Fixed chunks: the fit frames in (Chunks − 1) pieces, the validation frames in one.
        var chunks = new List<(List<int> Frames, bool Validation)>();
        int fitChunks = folds > 0 ? folds : Math.Max(1, Math.Min(options.Chunks - (nVal > 0 ? 1 : 0), fitFrames.Count));
        for (int c = 0; c < fitChunks; c++)
            chunks.Add((fitFrames.GetRange(fitFrames.Count * c / fitChunks, fitFrames.Count * (c + 1) / fitChunks - fitFrames.Count * c / fitChunks), false));
        if (nVal > 0) chunks.Add((valFrames, true));
        var accumulators = new GramAccumulator[chunks.Count][];
        // A committee resamples contiguous blocks of frames: each chunk is split into sub-blocks with their own Gram
        // matrices (the chunk's are their sum), so members are solved from sums of block Grams, not by rebuilding the design.
        int subBlocks = options.Committee > 0 ? Math.Max(1, (int)Math.Ceiling(options.CommitteeBlocks / (double)chunks.Count)) : 1;
        var blocks = new List<GramAccumulator[]>[chunks.Count];
        int done = 0, total = used.Count;
        Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c =>
        {
            var chunk = chunks[c].Frames;
            int pieces = Math.Min(subBlocks, Math.Max(1, chunk.Count));
            var subs = new List<GramAccumulator[]>();
            var builder = new DesignBuilder(set, wallModel, options.Order, conservative, perSpecies, quadratic);
            for (int b = 0; b < pieces; b++)
            {
                var acc = new GramAccumulator[groups];
                for (int g = 0; g < groups; g++) acc[g] = new GramAccumulator(columns);
                for (int i = chunk.Count * b / pieces; i < chunk.Count * (b + 1) / pieces; i++)
                {
                    builder.AddFrame(frames[chunk[i]], targets[chunk[i]]!, acc);
                    progress?.Report(0.9 * Interlocked.Increment(ref done) / total);
                }
                foreach (var a in acc) a.Flush();
                subs.Add(acc);
            }
            if (pieces == 1) accumulators[c] = subs[0];
            else
            {
                var sum = new GramAccumulator[groups];
                for (int g = 0; g < groups; g++)
                {
                    sum[g] = new GramAccumulator(columns);
                    foreach (var sub in subs) sum[g].Add(sub[g]);
                }
                accumulators[c] = sum;
            }
            blocks[c] = subs;
        });

        double designSeconds = clock.Elapsed.TotalSeconds;
        var losses = new QuadraticLoss[species.Count];
        var ridge = new Dictionary<string, double>();
        var scans = new Dictionary<string, IReadOnlyList<(double, double)>>();
        var crossValidation = new Dictionary<string, double>();
        long rows = 0;
        var groupRidge = new double[groups];
        bool curl = options.CurlPenalty is not null && !conservative;
        var groupAll = new GramAccumulator[curl ? groups : 0];
        for (int g = 0; g < groups; g++)
        {
            var fit = new GramAccumulator(columns);
            var val = new GramAccumulator(columns);
            for (int c = 0; c < chunks.Count; c++) (chunks[c].Validation ? val : fit).Add(accumulators[c][g]);
            if (curl) { groupAll[g] = new GramAccumulator(columns); groupAll[g].Add(fit); groupAll[g].Add(val); }
            rows += fit.Rows + val.Rows;
            var solution = folds > 0 ? CrossValidation.Solve([.. accumulators.Select(a => a[g])], RidgeSolver.Candidates)
                : RidgeSolver.Solve(fit, val, options.Ridge);
            groupRidge[g] = solution.Ridge;
            if (conservative)
            {
                for (int s = 0; s < species.Count; s++)
                {
                    losses[s] = Unpack(solution.Theta.AsSpan(s * perSpecies, perSpecies), k, options.Order, quadratic);
                    ridge[species[s].Symbol] = solution.Ridge;
                    scans[species[s].Symbol] = solution.Scan;
                    if (solution.CrossValidationRelRmse is { } cv) crossValidation[species[s].Symbol] = cv;
                }
            }
            else
            {
                losses[g] = Unpack(solution.Theta, k, options.Order, quadratic);
                ridge[species[g].Symbol] = solution.Ridge;
                scans[species[g].Symbol] = solution.Scan;
                if (solution.CrossValidationRelRmse is { } cv) crossValidation[species[g].Symbol] = cv;
            }
        }
        var curlReport = curl ? PenaliseCurl(frames, used, hold, set, options, perSpecies, quadratic, groupAll, groupRidge, losses, k) : null;
        double solveSeconds = clock.Elapsed.TotalSeconds - designSeconds;
        var members = options.Committee > 0
            ? Committee.Solve([.. blocks.SelectMany(b => b)], options.Committee, groupRidge, conservative, species.Count, perSpecies,
                theta => Unpack(theta, k, options.Order, quadratic))
            : null;
        double committeeSeconds = clock.Elapsed.TotalSeconds - designSeconds - solveSeconds;
        progress?.Report(0.92);

        // Walls only where the loss is quadratic: a linear term in a bounded invariant (a linear family's) cannot
        // run away, while a rare configuration of it (a second O in a hydrogen-bond shell) seen once in
        // training would get a wall scaled by a tiny spread.
        bool[] walled = [.. Enumerable.Range(0, k).Select(q => options.Order == 1 || Array.IndexOf(quadratic, q) >= 0)];
        var ranges = TrainingRanges(set, frames, used);
        if (options.RangeWallStrength > 0) losses = WithRanges(losses, ranges, options.RangeWallStrength, options.RangeWallMargin, options.RangeWallMinScale, walled);
        // Every model records its training ranges: the extrapolation signal reads them (walls or not).
        for (int s = 0; s < losses.Length; s++) if (ranges[s] is { } range) losses[s] = losses[s].WithRange(range);
        var model = new LearnedModel(set, options.Mode, losses, walls) { WallForces = options.WallForces };
        // Members share the model's walls and ranges: they differ only where the data leave the parameters uncertain.
        if (members is not null)
            model = model.WithCommittee([.. members.Select(m => (IReadOnlyList<QuadraticLoss>)[.. m.Select((l, s) => l.WithBounds(losses[s].Bounds).WithRange(losses[s].Range))])]);
        var ff = model.CreateForceField(skin: 0, backend: options.Backend);
        var trainReport = ForceErrors.Evaluate(ff, used.Select(f => WithTarget(frames[f], targets[f]!)).ToList());
        var holdReport = ForceErrors.Evaluate(ff, hold.Select(f => WithTarget(frames[f], targets[f]!)).ToList());
        var sensitivities = Sensitivities(model, frames, used);
        progress?.Report(1.0);

        model = model.WithTraining(new TrainingInfo
        {
            Source = options.Source,
            Frames = frames.Count,
            TrainFrames = used.Count,
            HoldoutFrames = hold.Count,
            Stride = stride,
            Target = options.Target == FitTarget.Forces ? "forces" : "accelerations",
            Ridge = ridge,
            Train = trainReport,
            Holdout = holdReport,
        });
        var report = new FitReport
        {
            Train = trainReport, Holdout = holdReport, Sensitivities = sensitivities,
            Ridge = ridge, RidgeScan = scans, Parameters = perSpecies * species.Count,
            Invariants = k, Rows = rows, Seconds = clock.Elapsed.TotalSeconds,
            DesignSeconds = designSeconds, SolveSeconds = solveSeconds, CommitteeSeconds = committeeSeconds, Backend = ff.Backend, BackendNote = ff.BackendNote,
            Folds = folds, CrossValidation = crossValidation, Curl = curlReport, BondedTerms = options.Bonded?.Summary(), Warnings = DataWarnings(rows, perSpecies * species.Count, used.Count, options),
        };
        return new FitResult(model, report);
    }

    /// <summary>"Too few data for the basis": fewer force components (rows) per parameter than <see cref="FitOptions.MinRowsPerParameter"/>.</summary>
    internal static List<string> DataWarnings(long rows, int parameters, int frames, FitOptions options)
    {
        var warnings = new List<string>();
        double perParameter = rows / (double)Math.Max(1, parameters);
        if (options.MinRowsPerParameter > 0 && perParameter < options.MinRowsPerParameter)
            warnings.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"few data for the basis: {rows} force components from {frames} training frames for {parameters} parameters ({perParameter:0.#} per parameter, fewer than {options.MinRowsPerParameter}); expect the held-out error well above the training error (a smaller basis: --order 1, --linear FAMILIES, or more frames)"));
        return warnings;
    }

    private static Frame WithTarget(Frame f, double[] target) =>
        ReferenceEquals(f.Forces, target) ? f : new Frame(f.Species, f.Positions, f.Cell) { Forces = target };

    /// <summary>θ = (b, upper triangle of C over the quadratic invariants, row by row) → loss; C is 0 elsewhere.</summary>
    private static QuadraticLoss Unpack(ReadOnlySpan<double> theta, int k, int order, int[] quadratic)
    {
        var b = theta[..k].ToArray();
        if (order == 1) return new QuadraticLoss(b, null);
        var c = new double[k * k];
        int p = k;
        for (int x = 0; x < quadratic.Length; x++)
            for (int y = x; y < quadratic.Length; y++)
            {
                int a = quadratic[x], d = quadratic[y];
                c[a * k + d] = c[d * k + a] = theta[p++];
            }
        return new QuadraticLoss(b, c);
    }

    /// <summary>The frames that can be targets and their target forces.</summary>
    internal static (List<int> Usable, double[]?[] Targets) Targets(IReadOnlyList<Frame> frames, FitTarget target)
    {
        var usable = new List<int>();
        var targets = new double[]?[frames.Count];
        if (target == FitTarget.Forces)
        {
            for (int f = 0; f < frames.Count; f++)
            {
                targets[f] = frames[f].Forces ?? throw DataException.At(null, f,
                    "has no forces to fit (use --target accelerations to fit positions alone)");
                usable.Add(f);
            }
            return (usable, targets);
        }
        if (frames.Count < 3) throw new DataException("accelerations need at least 3 consecutive frames");
        double? dt = null;
        for (int f = 0; f + 1 < frames.Count; f++)
        {
            if (frames[f].Time is not { } t0 || frames[f + 1].Time is not { } t1)
                throw DataException.At(null, f, "has no time: accelerations need the frames' times");
            double step = t1 - t0;
            dt ??= step;
            if (!(step > 0) || Math.Abs(step - dt.Value) > 1e-6 * dt.Value)
                throw DataException.At(null, f + 1, $"time step {step} fs differs from {dt} fs: accelerations need evenly spaced frames");
            if (frames[f].AtomCount != frames[f + 1].AtomCount)
                throw DataException.At(null, f + 1, "atom count changes between frames");
        }
        double inv = Units.AmuAngstrom2PerFs2InEv / (dt!.Value * dt.Value);
        for (int f = 1; f + 1 < frames.Count; f++)
        {
            var prev = frames[f - 1]; var cur = frames[f]; var next = frames[f + 1];
            var a = new double[3 * cur.AtomCount];
            for (int i = 0; i < cur.AtomCount; i++)
            {
                var x = Vec3.At(cur.Positions, i);
                var dn = Vec3.At(next.Positions, i) - x;
                var dp = Vec3.At(prev.Positions, i) - x;
                if (cur.Cell is { } cell) { dn = cell.MinimumImage(dn); dp = cell.MinimumImage(dp); }
                (cur.Species[i].Mass * inv * (dn + dp)).To(a, i);
            }
            targets[f] = a;
            usable.Add(f);
        }
        return (usable, targets);
    }

    /// <summary>Per-thread design-matrix rows for one frame at a time.</summary>
    private sealed partial class DesignBuilder
    {
        private readonly InvariantSet _set;
        private readonly LearnedModel _walls;
        private readonly int _order, _perSpecies, _k;
        private readonly int[] _quadratic;
        private readonly bool _conservative;
        private readonly NeighbourList _list = new();
        private readonly AgentScratch _scratch;
        private readonly double[] _d, _row;
        private double[] _jac = [], _block = [], _wallForces = [];
        private int[] _types = [], _slotOf = [];
        private double[] _slotGrad = [];
        private int[] _slotAtom = [];
        private readonly ForceResult _wallResult = new();
        private IForceField? _wallField;

        public DesignBuilder(InvariantSet set, LearnedModel walls, int order, bool conservative, int perSpecies, int[] quadratic)
        {
            _set = set; _walls = walls; _order = order; _conservative = conservative; _perSpecies = perSpecies;
            _quadratic = quadratic;
            _k = set.Count;
            _scratch = new AgentScratch(_k);
            _d = new double[3 * _k];
            _row = new double[conservative ? perSpecies * set.Species.Count : perSpecies];
        }

        public void AddFrame(Frame frame, double[] target, GramAccumulator[] acc)
        {
            int n = frame.AtomCount, k = _k;
            if (_types.Length != n) { _types = new int[n]; _slotOf = new int[n]; Array.Fill(_slotOf, -1); }
            for (int i = 0; i < n; i++) _types[i] = _set.IndexOf(frame.Species[i]);
            _list.Build(frame.Positions, frame.Cell, _set.Cutoff);
            // Targets minus the fixed walls' forces (zero wherever the walls are not touched).
            var y = target;
            if (_walls.Walls.Count > 0)
            {
                (_wallField ??= _walls.CreateForceField(skin: 0, maxThreads: 1)).Compute(frame.Species, frame.Positions, frame.Cell, _wallResult);
                if (_wallForces.Length != 3 * n) _wallForces = new double[3 * n];
                for (int x = 0; x < 3 * n; x++) _wallForces[x] = target[x] - _wallResult.Forces[x];
                y = _wallForces;
            }
            var s = _scratch;
            if (!_conservative)
            {
                for (int i = 0; i < n; i++)
                {
                    _set.Gather(s, i, _list, _types);
                    _set.ComputeValues(s);
                    var sink = new AgentJacobianSink(s, _d, k);
                    _set.ComputeGradient(s, ref sink);
                    for (int c = 0; c < 3; c++)
                    {
                        FillColumns(_row, 0, s.Values, _d, c);
                        acc[_types[i]].AddRow(_row, y[3 * i + c]);
                    }
                }
                return;
            }
            int cols = _row.Length;
            if (_block.Length != 3 * n * cols) _block = new double[3 * n * cols];
            Array.Clear(_block);
            for (int i = 0; i < n; i++)
            {
                _set.Gather(s, i, _list, _types);
                _set.ComputeValues(s);
                int entries = s.Entries;
                if (_jac.Length < 3 * k * entries) _jac = new double[3 * k * entries];
                var sink = new EntryJacobianSink(s, _jac, k);
                _set.ComputeGradient(s, ref sink);
                // ∂I_k/∂x_a for every atom a the agent touches: itself (slot 0) and its neighbours.
                if (_slotAtom.Length < entries + 1) { _slotAtom = new int[entries + 1]; }
                if (_slotGrad.Length < 3 * k * (entries + 1)) _slotGrad = new double[3 * k * (entries + 1)];
                int slots = 1;
                _slotAtom[0] = i; _slotOf[i] = 0;
                Array.Clear(_slotGrad, 0, 3 * k * (entries + 1));
                for (int e = 0; e < entries; e++)
                {
                    int j = s.Atom[e];
                    if (_slotOf[j] < 0) { _slotOf[j] = slots; _slotAtom[slots++] = j; }
                    int sj = _slotOf[j];
                    for (int q = 0; q < k; q++)
                    {
                        int o = 3 * (q * entries + e);
                        for (int c = 0; c < 3; c++)
                        {
                            double g = _jac[o + c];
                            _slotGrad[3 * (sj * k + q) + c] += g;
                            _slotGrad[3 * q + c] -= g;
                        }
                    }
                }
                int offset = _types[i] * _perSpecies;
                for (int a = 0; a < slots; a++)
                {
                    int atom = _slotAtom[a];
                    for (int c = 0; c < 3; c++)
                        FillColumns(_block.AsSpan((3 * atom + c) * cols, cols), offset, s.Values, _slotGrad.AsSpan(3 * a * k, 3 * k), c, accumulate: true);
                    _slotOf[atom] = -1;
                }
            }
            for (int x = 0; x < 3 * n; x++) acc[0].AddRow(_block.AsSpan(x * cols, cols), y[x]);
        }

        /// <summary>
        /// Force columns for one component c: −∂φ_p/∂x with φ = (I_k; ½I_k² for C_kk, I_k I_l for C_kl, k &lt; l)
        /// and grad[3q + c] = ∂I_q/∂x_c; the quadratic terms run over the quadratic invariants only.
        /// </summary>
        private void FillColumns(Span<double> row, int offset, ReadOnlySpan<double> values, ReadOnlySpan<double> grad, int c, bool accumulate = false)
        {
            int k = _k;
            if (!accumulate) row.Slice(offset, _perSpecies).Clear();
            for (int q = 0; q < k; q++) row[offset + q] -= grad[3 * q + c];
            if (_order == 1) return;
            int p = offset + k;
            var quadratic = _quadratic;
            for (int x = 0; x < quadratic.Length; x++)
            {
                int a = quadratic[x];
                double ia = values[a], ga = grad[3 * a + c];
                row[p++] -= ia * ga;
                for (int y = x + 1; y < quadratic.Length; y++)
                {
                    int b = quadratic[y];
                    row[p++] -= values[b] * ga + ia * grad[3 * b + c];
                }
            }
        }
    }
}
