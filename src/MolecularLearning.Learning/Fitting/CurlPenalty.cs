using System.Diagnostics;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>What a curl-penalised agent fit measured (docs/agent-mode.md, "A curl penalty").</summary>
/// <param name="Mu">Penalty weight (Å²): the mean squared sampled curl component counts μ times the mean squared force residual.</param>
/// <param name="Pairs">Neighbour pairs sampled (nine Jacobian components each).</param>
/// <param name="Skipped">Sampled pairs left out: a neighbour rank swap inside the difference step.</param>
/// <param name="RmsBefore">RMS of the sampled A_{iα,jβ} (eV/Å²) for the plain fit's parameters.</param>
/// <param name="RmsAfter">The same for the penalised parameters.</param>
/// <param name="HeldOutBefore">RMS of A on pairs sampled the same way on the held-out frames, plain fit (NaN: none held out).</param>
/// <param name="HeldOutAfter">The same, penalised: whether the penalty generalises beyond its sample.</param>
public sealed record CurlReport(double Mu, int Pairs, int Skipped, double RmsBefore, double RmsAfter, double HeldOutBefore, double HeldOutAfter, double Seconds)
{
    /// <summary>Pairs sampled on <see cref="FitOptions.CurlExtraFrames"/> (included in <see cref="Pairs"/>); 0: none given.</summary>
    public int ExtraPairs { get; init; }
    /// <summary>RMS of A on the extra frames' pairs alone, plain fit → penalised (NaN: none given).</summary>
    public double ExtraBefore { get; init; } = double.NaN;
    public double ExtraAfter { get; init; } = double.NaN;
}

public static partial class ModelFitter
{
    /// <summary>
    /// The curl penalty of an agent-mode fit: the antisymmetric part of the force Jacobian,
    /// A_{iα,jβ} = ∂F_iα/∂x_jβ − ∂F_jβ/∂x_iα, is linear in the parameters of both atoms' species, a·θ. The vector a comes
    /// from central differences of the force rows (no second derivatives of the invariants); Q = Σ a aᵀ over neighbour
    /// pairs sampled on training frames adds μ-weighted to the normal equations, which stay linear.
    /// </summary>
    internal sealed class CurlRows
    {
        private readonly InvariantSet _set;
        private readonly DesignBuilder _builder;
        private readonly int _p;
        private readonly double _h;
        private readonly AgentScratch _s;
        private readonly double[] _plus, _minus, _zero, _di, _dj;
        private double[] _save = [];

        public CurlRows(InvariantSet set, int order, int perSpecies, int[] quadratic, double h)
        {
            if (!(h > 0)) throw new DataException($"curl step must be positive, got {h}");
            var empty = new LearnedModel(set, ForceMode.Agent, [.. set.Species.Select(_ => new QuadraticLoss(new double[set.Count], null))], []);
            _set = set; _p = perSpecies; _h = h;
            _builder = new DesignBuilder(set, empty, order, conservative: false, perSpecies, quadratic);
            _s = new AgentScratch(set.Count);
            _plus = new double[3 * perSpecies]; _minus = new double[3 * perSpecies]; _zero = new double[3 * perSpecies];
            _di = new double[9 * perSpecies]; _dj = new double[9 * perSpecies];
        }

        /// <summary>Parameters of all species together: species s at [s·P, (s+1)·P).</summary>
        public int Columns => _p * _set.Species.Count;

        /// <summary>
        /// d[(3α + β)·P + p] = ∂row_{iα,p}/∂x_jβ: how agent i's force rows (its species' P parameters) change as atom j
        /// moves, every image of j inside i's cutoff with it. Only i's neighbourhood is recomputed. False when the forward and
        /// backward differences disagree: a neighbour rank swap (sorted distances and angles) inside ±h, where the rows
        /// jump and a difference quotient measures the jump, not a curl.
        /// </summary>
        public bool RowDerivatives(NeighbourList list, ReadOnlySpan<int> types, int i, int j, Span<double> d)
        {
            var s = _s;
            _set.Gather(s, i, list, types);
            int n = s.Entries, p = _p;
            if (_save.Length < 7 * n) _save = new double[7 * n];
            s.Dx.AsSpan(0, n).CopyTo(_save.AsSpan(0, n)); s.Dy.AsSpan(0, n).CopyTo(_save.AsSpan(n, n)); s.Dz.AsSpan(0, n).CopyTo(_save.AsSpan(2 * n, n));
            s.R.AsSpan(0, n).CopyTo(_save.AsSpan(3 * n, n)); s.Ux.AsSpan(0, n).CopyTo(_save.AsSpan(4 * n, n));
            s.Uy.AsSpan(0, n).CopyTo(_save.AsSpan(5 * n, n)); s.Uz.AsSpan(0, n).CopyTo(_save.AsSpan(6 * n, n));
            _builder.AgentRows(s, _zero);
            bool smooth = true;
            for (int beta = 0; beta < 3; beta++)
            {
                Shift(j, beta, _h); _builder.AgentRows(s, _plus); Restore(n);
                Shift(j, beta, -_h); _builder.AgentRows(s, _minus); Restore(n);
                double gap = 0, size = 0;
                for (int x = 0; x < 3 * p; x++)
                {
                    double forward = _plus[x] - _zero[x], backward = _zero[x] - _minus[x];
                    gap += (forward - backward) * (forward - backward);
                    size += forward * forward + backward * backward;
                }
                if (gap > KinkTolerance * KinkTolerance * size) smooth = false;
                for (int alpha = 0; alpha < 3; alpha++)
                {
                    var row = d.Slice((3 * alpha + beta) * p, p);
                    for (int q = 0; q < p; q++) row[q] = (_plus[alpha * p + q] - _minus[alpha * p + q]) / (2 * _h);
                }
            }
            return smooth;
        }

        /// <summary>Largest relative difference of the forward and backward differences of a smooth row (theirs differ by O(h)).</summary>
        public const double KinkTolerance = 0.01;

        /// <summary>
        /// The nine penalty vectors of the pair (i, j): a[(3α + β)·Columns + q] with a·θ = A_{iα,jβ} for θ over all species
        /// (i's block gets ∂row_iα/∂x_jβ, j's block −∂row_jβ/∂x_iα; one block when they are the same species).
        /// </summary>
        public bool PairVectors(NeighbourList list, ReadOnlySpan<int> types, int i, int j, Span<double> a)
        {
            int p = _p, cols = Columns;
            a[..(9 * cols)].Clear();
            bool smooth = RowDerivatives(list, types, i, j, _di);
            smooth &= RowDerivatives(list, types, j, i, _dj);
            int oi = types[i] * p, oj = types[j] * p;
            for (int alpha = 0; alpha < 3; alpha++)
                for (int beta = 0; beta < 3; beta++)
                {
                    var row = a.Slice((3 * alpha + beta) * cols, cols);
                    var di = _di.AsSpan((3 * alpha + beta) * p, p);
                    var dj = _dj.AsSpan((3 * beta + alpha) * p, p);
                    for (int q = 0; q < p; q++) { row[oi + q] += di[q]; row[oj + q] -= dj[q]; }
                }
            return smooth;
        }

        /// <summary>Moves every entry of <paramref name="atom"/> in the gathered neighbourhood by δ along axis β (the agent stays).</summary>
        private void Shift(int atom, int beta, double delta)
        {
            var s = _s;
            for (int e = 0; e < s.Entries; e++)
            {
                if (s.Atom[e] != atom) continue;
                if (beta == 0) s.Dx[e] += delta; else if (beta == 1) s.Dy[e] += delta; else s.Dz[e] += delta;
                double r = Math.Sqrt(s.Dx[e] * s.Dx[e] + s.Dy[e] * s.Dy[e] + s.Dz[e] * s.Dz[e]), inv = 1 / r;
                s.R[e] = r; s.Ux[e] = s.Dx[e] * inv; s.Uy[e] = s.Dy[e] * inv; s.Uz[e] = s.Dz[e] * inv;
            }
        }

        private void Restore(int n)
        {
            var s = _s;
            _save.AsSpan(0, n).CopyTo(s.Dx); _save.AsSpan(n, n).CopyTo(s.Dy); _save.AsSpan(2 * n, n).CopyTo(s.Dz);
            _save.AsSpan(3 * n, n).CopyTo(s.R); _save.AsSpan(4 * n, n).CopyTo(s.Ux);
            _save.AsSpan(5 * n, n).CopyTo(s.Uy); _save.AsSpan(6 * n, n).CopyTo(s.Uz);
        }

        /// <summary>Distinct neighbour pairs (i &lt; j) within the cutoff, in a seeded random order.</summary>
        internal static List<(int I, int J)> ShuffledPairs(NeighbourList list, int atoms, int seed)
        {
            var pairs = new List<(int, int)>();
            var start = list.Start;
            var index = list.Index;
            var r = list.R;
            var seen = new HashSet<int>();
            for (int i = 0; i < atoms; i++)
            {
                seen.Clear();
                for (int e = start[i]; e < start[i + 1]; e++)
                    if (index[e] > i && r[e] < list.Cutoff && seen.Add(index[e])) pairs.Add((i, index[e]));
            }
            var rng = new Random(seed);
            for (int k = pairs.Count - 1; k > 0; k--)
            {
                int m = rng.Next(k + 1);
                (pairs[k], pairs[m]) = (pairs[m], pairs[k]);
            }
            return pairs;
        }

        /// <summary>
        /// Q = Σ a aᵀ over <paramref name="pairsPerFrame"/> random neighbour pairs of each frame (nine rows a pair; pairs with
        /// a rank swap inside ±h are skipped and counted), built in <paramref name="chunks"/> fixed pieces so the sum does not
        /// depend on the core count.
        /// </summary>
        public static (GramAccumulator Q, int Pairs, int Skipped) Accumulate(IReadOnlyList<Frame> frames, InvariantSet set, int order, int perSpecies,
            int[] quadratic, double h, int pairsPerFrame, int seed, double jitter = 0, int chunks = 2)
        {
            int cols = perSpecies * set.Species.Count;
            var parts = new GramAccumulator[chunks];
            var counts = new int[chunks];
            var skipped = new int[chunks];
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c =>
            {
                var rows = new CurlRows(set, order, perSpecies, quadratic, h);
                var acc = new GramAccumulator(cols);
                var a = new double[9 * cols];
                var list = new NeighbourList();
                for (int f = c; f < frames.Count; f += chunks)
                {
                    var frame = jitter > 0 ? Jittered(frames[f], jitter, seed + 7919 * (f + 1)) : frames[f];
                    var types = frame.Species.Select(set.IndexOf).ToArray();
                    list.Build(frame.Positions, frame.Cell, set.Cutoff);
                    var pairs = ShuffledPairs(list, frame.AtomCount, seed + f);
                    foreach (var (i, j) in pairs.Take(pairsPerFrame))
                    {
                        if (!rows.PairVectors(list, types, i, j, a)) { skipped[c]++; continue; }
                        for (int k = 0; k < 9; k++) acc.AddRow(a.AsSpan(k * cols, cols), 0);
                        counts[c]++;
                    }
                }
                acc.Complete();
                parts[c] = acc;
            });
            var q = new GramAccumulator(cols);
            foreach (var part in parts) q.Add(part);
            q.Complete();
            return (q, counts.Sum(), skipped.Sum());
        }

        /// <summary>The frame with every coordinate displaced by a seeded Gaussian of standard deviation σ (Å): configurations beside the training ones.</summary>
        internal static Frame Jittered(Frame frame, double sigma, int seed)
        {
            var rng = new Random(seed);
            var x = (double[])frame.Positions.Clone();
            for (int q = 0; q < x.Length; q++)
                x[q] += sigma * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            return new Frame(frame.Species, x, frame.Cell);
        }

        /// <summary>RMS of a·θ over Q's rows: √(θᵀQθ / rows).</summary>
        public static double Rms(GramAccumulator q, ReadOnlySpan<double> theta) => Math.Sqrt(q.Residual(theta) / Math.Max(1, q.Rows));
    }

    private sealed partial class DesignBuilder
    {
        /// <summary>Agent-mode force rows of the agent gathered in <paramref name="s"/>: component c's row at [c·P, (c+1)·P), P parameters of its species.</summary>
        public void AgentRows(AgentScratch s, Span<double> rows)
        {
            _set.ComputeValues(s);
            var sink = new AgentJacobianSink(s, _d, _k);
            _set.ComputeGradient(s, ref sink);
            for (int c = 0; c < 3; c++) FillColumns(rows.Slice(c * _perSpecies, _perSpecies), 0, s.Values, _d, c);
        }
    }

    /// <summary>
    /// Refits the agent species jointly with the curl penalty μ (N_rows / N_curl rows) θᵀQθ: the mean squared sampled curl
    /// component weighs μ times the mean squared force residual. Replaces <paramref name="losses"/>.
    /// </summary>
    private static CurlReport PenaliseCurl(IReadOnlyList<Frame> frames, List<int> used, List<int> hold, InvariantSet set, FitOptions options, int perSpecies,
        int[] quadratic, GramAccumulator[] groupAll, double[] groupRidge, QuadraticLoss[] losses, int k)
    {
        var clock = Stopwatch.StartNew();
        List<Frame> Spread(List<int> from)
        {
            int count = Math.Min(options.CurlFrames, from.Count);
            return [.. Enumerable.Range(0, count).Select(x => frames[from[(int)((x + 0.5) * from.Count / count)]])];
        }
        var (q, pairs, skipped) = CurlRows.Accumulate(Spread(used), set, options.Order, perSpecies, quadratic, options.CurlStep, options.CurlPairsPerFrame, seed: 1, options.CurlJitter);
        // Extra (e.g. visited) frames join the sample as they are; their own Q is kept to report their curl.
        GramAccumulator? extra = null; int extraPairs = 0;
        if (options.CurlExtraFrames.Count > 0)
        {
            for (int f = 0; f < options.CurlExtraFrames.Count; f++)
                foreach (var sp in options.CurlExtraFrames[f].Species)
                    if (set.IndexOf(sp) < 0)
                        throw new DataException($"curl frames: frame {f} has species {sp.Symbol}, which the training data do not");
            int extraSkipped;
            (extra, extraPairs, extraSkipped) = CurlRows.Accumulate(options.CurlExtraFrames, set, options.Order, perSpecies, quadratic, options.CurlStep, options.CurlPairsPerFrame, seed: 3);
            q.Add(extra); q.Complete();
            pairs += extraPairs; skipped += extraSkipped;
        }
        var check = hold.Count > 0 ? CurlRows.Accumulate(Spread(hold), set, options.Order, perSpecies, quadratic, options.CurlStep, options.CurlPairsPerFrame, seed: 2).Q : null;
        long rows = groupAll.Sum(g => g.Rows);
        double mu = options.CurlPenalty!.Value;
        var plain = new double[q.Columns];
        for (int g = 0; g < groupAll.Length; g++) Pack(losses[g], k, options.Order, quadratic).CopyTo(plain, g * perSpecies);
        var theta = RidgeSolver.SolveJoint(groupAll, groupRidge, q, mu * rows / Math.Max(1, q.Rows));
        for (int g = 0; g < groupAll.Length; g++) losses[g] = Unpack(theta.AsSpan(g * perSpecies, perSpecies), k, options.Order, quadratic);
        return new CurlReport(mu, pairs, skipped, CurlRows.Rms(q, plain), CurlRows.Rms(q, theta),
            check is null ? double.NaN : CurlRows.Rms(check, plain), check is null ? double.NaN : CurlRows.Rms(check, theta), clock.Elapsed.TotalSeconds)
        {
            ExtraPairs = extraPairs,
            ExtraBefore = extra is null ? double.NaN : CurlRows.Rms(extra, plain),
            ExtraAfter = extra is null ? double.NaN : CurlRows.Rms(extra, theta),
        };
    }

    /// <summary>The inverse of <see cref="Unpack"/>: θ = (b, upper triangle of C over the quadratic invariants).</summary>
    internal static double[] Pack(QuadraticLoss loss, int k, int order, int[] quadratic)
    {
        var theta = new List<double>(loss.Linear.ToArray());
        if (order == 2)
        {
            var c = loss.Quadratic;
            for (int x = 0; x < quadratic.Length; x++)
                for (int y = x; y < quadratic.Length; y++) theta.Add(c[quadratic[x] * k + quadratic[y]]);
        }
        return [.. theta];
    }
}
