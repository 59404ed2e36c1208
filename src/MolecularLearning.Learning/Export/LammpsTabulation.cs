using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>How the LAMMPS tables are sized; the defaults are the measured error budget of the issue.</summary>
public sealed record LammpsExportOptions
{
    /// <summary>Target: max over reference atoms of |F_table − F_analytic| divided by the RMS analytic force.</summary>
    public double ForceTolerance { get; init; } = 1e-6;
    /// <summary>Each table's inner bound is this fraction of the shortest distance seen for that species pair.</summary>
    public double InnerFraction { get; init; } = 0.5;
    /// <summary>The F(ρ) grid of each eam/fs layer reaches this multiple of the largest density seen.</summary>
    public double DensityHeadroom { get; init; } = 3.0;
    /// <summary>Points of each F(ρ) grid (F is quadratic, reproduced exactly away from ρ &lt; Δρ).</summary>
    public int DensityPoints { get; init; } = 2000;
    public int FirstTablePoints { get; init; } = 4096;
    public int MaxTablePoints { get; init; } = 1 << 20;
    public int FirstRadialPoints { get; init; } = 250;
    public int MaxRadialPoints { get; init; } = 1 << 16;
    /// <summary>
    /// Split every mixed-sign eigen-direction into three layers with non-negative densities (exact for any structure),
    /// instead of keeping whole the directions whose reference densities stay clear of zero (a third of the layers).
    /// </summary>
    public bool SplitEveryDirection { get; init; }
    /// <summary>Reference frames used for the budget (evenly spread over the ones given).</summary>
    public int MaxReferenceFrames { get; init; } = 4;
}

/// <summary>One step of the resolution search: how many points, and the force/energy error they gave.</summary>
public sealed record BudgetStep(string Table, int Points, double RelativeForceError, double EnergyErrorPerAtom);

/// <summary>The measured error budget of an export.</summary>
public sealed record LammpsErrorBudget(
    int Frames, int Atoms, double ForceScale, double Tolerance,
    double DecompositionForceError, double PairForceError, double EmbeddingForceError,
    double TotalForceError, double TotalEnergyErrorPerAtom, IReadOnlyList<BudgetStep> Steps);

/// <summary>
/// The tables chosen for an export: pair tables (pair_style table linear, r² grid) and eam/fs layers
/// (uniform r grid from 0, uniform ρ grid from 0), sized by measuring the force error on reference frames.
/// </summary>
public sealed class LammpsTabulation
{
    private LammpsTabulation(RadialLossDescription description, PairEmbeddingModel analytic) { Description = description; Analytic = analytic; }

    public RadialLossDescription Description { get; }
    public PairEmbeddingModel Analytic { get; }
    public PairEmbeddingModel Tabulated { get; private set; } = null!;
    public int TablePoints { get; private set; }
    /// <summary>Inner bound (Å) of each species pair's table: LAMMPS stops if two atoms come closer.</summary>
    public double[,] InnerBounds { get; private set; } = null!;
    public LammpsLinearTable?[,] PairTables { get; private set; } = null!;
    public int RadialPoints { get; private set; }
    public double RadialSpacing { get; private set; }
    public int DensityPoints { get; private set; }
    /// <summary>Per layer: the top of its ρ grid, and the largest density seen on the reference frames.</summary>
    public double[] DensityTop { get; private set; } = [];
    public double[] DensitySeen { get; private set; } = [];
    /// <summary>Per layer: the smallest density seen on the reference frames (LAMMPS's F grid starts at ρ = 0).</summary>
    public double[] DensityLowest { get; private set; } = [];
    /// <summary>Per layer [s]: F_s tabulated; [s, t]: f_{s,t} tabulated (null: zero).</summary>
    public IReadOnlyList<(LammpsEamSpline?[] Embedding, LammpsEamSpline?[,] Density)> EamTables { get; private set; } = [];
    public LammpsErrorBudget Budget { get; private set; } = null!;

    /// <summary>Tabulates a radial loss, choosing resolutions so the force error on <paramref name="reference"/> meets the tolerance.</summary>
    public static LammpsTabulation Create(RadialLossDescription description, IReadOnlyList<Frame> reference, LammpsExportOptions? options = null)
    {
        options ??= new LammpsExportOptions();
        if (reference.Count == 0) throw new DataException("the export needs reference structures (training or target frames) to size its tables");
        var frames = Spread(reference, options.MaxReferenceFrames);
        foreach (var fr in frames)
        {
            if (fr.Cell is null) throw new DataException("reference frames must be periodic (LAMMPS boxes are)");
            foreach (var s in fr.Species) description.IndexOf(s);
        }
        int ns = description.Species.Count;
        double rc = description.Cutoff;

        // Exact references (the direct loss), and the invariants the reference atoms see.
        var direct = new RadialLossForceField(description);
        var samples = Enumerable.Range(0, ns).Select(_ => new List<double[]>()).ToArray();
        var exact = new ForceResult[frames.Count];
        for (int f = 0; f < frames.Count; f++)
        {
            exact[f] = direct.Compute(frames[f]);
            for (int i = 0; i < frames[f].AtomCount; i++)
                samples[description.IndexOf(frames[f].Species[i])].Add(direct.InvariantsOf(i, frames[f].Species[i]));
        }
        var tab = new LammpsTabulation(description, PairEmbeddingModel.FromRadialLoss(description, options.SplitEveryDirection ? null : samples));
        var analytic = tab.Analytic;
        double scale = Math.Sqrt(exact.Sum(e => e.Forces.Sum(x => x * x)) / Math.Max(1, exact.Sum(e => e.Forces.Length / 3)));
        if (!(scale > 0)) scale = 1;
        var pairOnly = new PairEmbeddingModel(analytic.Species, rc, analytic.Pair, []);
        var embOnly = new PairEmbeddingModel(analytic.Species, rc, new ICurve?[ns, ns], analytic.Layers);
        var exactPair = Evaluate(pairOnly, frames);
        var exactEmb = Evaluate(embOnly, frames);
        var decomposed = Evaluate(analytic, frames);
        double decompositionError = MaxForceError(decomposed, exact) / scale;

        // Shortest distances per species pair and the largest densities per layer.
        var minDist = ShortestDistances(description, frames);
        var emb = new PairEmbeddingForceField(embOnly);
        var seen = new double[analytic.Layers.Count];
        var lowest = Enumerable.Repeat(double.PositiveInfinity, seen.Length).ToArray();
        foreach (var fr in frames)
        {
            emb.Compute(fr);
            var rho = emb.Densities;
            int n = fr.AtomCount;
            for (int l = 0; l < seen.Length; l++)
                for (int i = 0; i < n; i++)
                {
                    if (analytic.Layers[l].Embedding[description.IndexOf(fr.Species[i])] is null) continue;
                    seen[l] = Math.Max(seen[l], Math.Abs(rho[l * n + i]));
                    lowest[l] = Math.Min(lowest[l], rho[l * n + i]);
                }
        }
        tab.DensityLowest = lowest;
        double globalMin = minDist.Cast<double>().Where(double.IsFinite).DefaultIfEmpty(1.0).Min();
        var inner = new double[ns, ns];
        for (int s = 0; s < ns; s++)
            for (int t = 0; t < ns; t++)
                inner[s, t] = options.InnerFraction * (double.IsFinite(minDist[s, t]) ? minDist[s, t] : globalMin);
        double rFloor = inner.Cast<double>().Min();
        tab.InnerBounds = inner;
        tab.DensitySeen = seen;
        tab.DensityPoints = options.DensityPoints;
        tab.DensityTop = seen.Select(x => options.DensityHeadroom * (x > 0 ? x : 1)).ToArray();

        var steps = new List<BudgetStep>();
        double half = 0.5 * options.ForceTolerance;

        // Pair tables: double N until the pair part's force error is within half the budget.
        double pairError = 0;
        LammpsLinearTable?[,] tables;
        ICurve?[,] pairCurves; // the same tables, as the evaluator's curves
        for (int points = options.FirstTablePoints; ; points *= 2)
        {
            tables = new LammpsLinearTable?[ns, ns];
            pairCurves = new ICurve?[ns, ns];
            for (int s = 0; s < ns; s++)
                for (int t = s; t < ns; t++)
                    pairCurves[s, t] = pairCurves[t, s] = tables[s, t] = tables[t, s] = new LammpsLinearTable(inner[s, t], rc, points, analytic.Pair[s, t]!);
            var got = Evaluate(new PairEmbeddingModel(analytic.Species, rc, pairCurves, []), frames);
            pairError = MaxForceError(got, exactPair) / scale;
            steps.Add(new BudgetStep("pair table", points, pairError, EnergyErrorPerAtom(got, exactPair)));
            tab.TablePoints = points;
            if (pairError <= half || points * 2 > options.MaxTablePoints) break;
        }
        tab.PairTables = tables;

        // eam/fs layers: refine the r grid the same way (the ρ grid reproduces the quadratic F exactly).
        double embError = 0;
        var eam = new List<(LammpsEamSpline?[], LammpsEamSpline?[,])>();
        if (analytic.Layers.Count > 0)
        {
            CheckDensitiesNonNegative(analytic, rFloor);
            for (int intervals = options.FirstRadialPoints; ; intervals *= 2)
            {
                eam = TabulateLayers(analytic, tab.DensityTop, options.DensityPoints, intervals, rFloor);
                var got = Evaluate(EamModel(analytic, eam), frames);
                embError = MaxForceError(got, exactEmb) / scale;
                tab.RadialPoints = intervals + GhostKnots + 1;
                tab.RadialSpacing = rc / intervals;
                steps.Add(new BudgetStep("eam/fs r grid", tab.RadialPoints, embError, EnergyErrorPerAtom(got, exactEmb)));
                if (embError <= half || intervals * 2 > options.MaxRadialPoints) break;
            }
        }
        tab.EamTables = eam;

        var eamModel = EamModel(analytic, eam);
        tab.Tabulated = new PairEmbeddingModel(analytic.Species, rc, pairCurves, eamModel.Layers);
        var total = Evaluate(tab.Tabulated, frames);
        tab.Budget = new LammpsErrorBudget(frames.Count, frames.Sum(f => f.AtomCount), scale, options.ForceTolerance,
            decompositionError, pairError, embError, MaxForceError(total, exact) / scale, EnergyErrorPerAtom(total, exact), steps);
        return tab;
    }

    private static List<(LammpsEamSpline?[], LammpsEamSpline?[,])> TabulateLayers(PairEmbeddingModel analytic, double[] top, int nrho, int intervals, double rFloor)
    {
        double dr = analytic.Cutoff / intervals;
        int cutNode = intervals, nr = intervals + GhostKnots + 1;
        int ns = analytic.Species.Count;
        var cache = new Dictionary<RadialFunction, double[]>();
        double[] Sample(RadialFunction phi)
        {
            if (cache.TryGetValue(phi, out var v)) return v;
            v = new double[nr];
            double f0 = phi(rFloor, out double d0);
            for (int m = 0; m < cutNode; m++)
            {
                double r = m * dr;
                // Below the shortest tabulated distance LAMMPS stops on the pair table first; any smooth
                // continuation keeps the spline slopes sane there.
                v[m] = r < rFloor ? f0 + d0 * (r - rFloor) : phi(r, out _);
            }
            // At r_c the function is only C¹ (its curvature jumps to zero), and LAMMPS's 5-point slopes near the
            // last knots would reach across that kink (an O(Δ) force error). LAMMPS never looks beyond r_c, so the
            // knots there carry the smooth continuation instead: the quartic through the last five inside knots.
            v[cutNode] = 0;
            for (int m = cutNode + 1; m < nr; m++) v[m] = Extrapolate(v, cutNode, m);
            return cache[phi] = v;
        }
        var result = new List<(LammpsEamSpline?[], LammpsEamSpline?[,])>();
        for (int l = 0; l < analytic.Layers.Count; l++)
        {
            var layer = analytic.Layers[l];
            double drho = top[l] / (nrho - 1);
            var emb = new LammpsEamSpline?[ns];
            var dens = new LammpsEamSpline?[ns, ns];
            for (int s = 0; s < ns; s++)
            {
                if (layer.Embedding[s] is { } F)
                {
                    var values = new double[nrho];
                    for (int m = 0; m < nrho; m++) values[m] = F.Evaluate(m * drho, out _);
                    emb[s] = new LammpsEamSpline(values, drho, embedding: true);
                }
                for (int t = 0; t < ns; t++)
                {
                    if (layer.Density[s, t] is not RadialSum sum) continue;
                    var values = new double[nr];
                    foreach (var (c, phi) in sum.Terms)
                    {
                        var sample = Sample(phi);
                        for (int m = 0; m < nr; m++) values[m] += c * sample[m];
                    }
                    if (layer.NonNegative[s]) for (int m = 0; m < cutNode; m++) values[m] = Math.Max(0, values[m]);
                    dens[s, t] = new LammpsEamSpline(values, dr, embedding: false);
                }
            }
            result.Add((emb, dens));
        }
        return result;
    }

    /// <summary>Knots beyond r_c in each eam/fs r grid (the 5-point slopes reach two knots out).</summary>
    private const int GhostKnots = 4;

    /// <summary>The quartic through knots last−4..last, evaluated at knot m.</summary>
    private static double Extrapolate(double[] v, int last, int m)
    {
        double sum = 0;
        for (int a = 0; a < 5; a++)
        {
            int xa = last - a;
            double w = 1;
            for (int b = 0; b < 5; b++)
                if (b != a) w *= (double)(m - (last - b)) / (xa - (last - b));
            sum += w * v[xa];
        }
        return sum;
    }

    private static PairEmbeddingModel EamModel(PairEmbeddingModel analytic, List<(LammpsEamSpline?[] Embedding, LammpsEamSpline?[,] Density)> eam)
    {
        int ns = analytic.Species.Count;
        var layers = eam.Select((x, l) => new EmbeddingLayer(
            x.Embedding.Select(e => (ICurve?)e).ToArray(), Copy(x.Density, ns), analytic.Layers[l].Notes, analytic.Layers[l].NonNegative)).ToList();
        return new PairEmbeddingModel(analytic.Species, analytic.Cutoff, new ICurve?[ns, ns], layers);
    }

    private static ICurve?[,] Copy(LammpsEamSpline?[,] d, int ns)
    {
        var c = new ICurve?[ns, ns];
        for (int s = 0; s < ns; s++) for (int t = 0; t < ns; t++) c[s, t] = d[s, t];
        return c;
    }

    /// <summary>LAMMPS's F(ρ) grid starts at ρ = 0, so every density function must be non-negative.</summary>
    private static void CheckDensitiesNonNegative(PairEmbeddingModel analytic, double rFloor)
    {
        int ns = analytic.Species.Count;
        for (int l = 0; l < analytic.Layers.Count; l++)
            for (int s = 0; s < ns; s++)
                for (int t = 0; t < ns; t++)
                {
                    if (analytic.Layers[l].Density[s, t] is not { } d || !analytic.Layers[l].NonNegative[s]) continue;
                    double min = 0, max = 0;
                    for (int m = 0; m <= 4000; m++)
                    {
                        double r = rFloor + (analytic.Cutoff - rFloor) * m / 4000;
                        double v = d.Evaluate(r, out _);
                        min = Math.Min(min, v); max = Math.Max(max, v);
                    }
                    if (min < -1e-9 * Math.Max(max, 1e-300))
                        throw new DataException($"cannot export to eam/fs: a density of species {analytic.Species[s]} from {analytic.Species[t]} " +
                            $"takes negative values ({min:G4}); LAMMPS tabulates F(ρ) only for ρ ≥ 0, which needs radial basis functions φ_k ≥ 0");
                }
    }

    private static double[,] ShortestDistances(RadialLossDescription d, IReadOnlyList<Frame> frames)
    {
        int ns = d.Species.Count;
        var min = new double[ns, ns];
        for (int s = 0; s < ns; s++) for (int t = 0; t < ns; t++) min[s, t] = double.PositiveInfinity;
        var list = new NeighbourList();
        foreach (var fr in frames)
        {
            list.Build(fr.Positions, fr.Cell, d.Cutoff);
            var start = list.Start; var index = list.Index; var r = list.R;
            for (int i = 0; i < fr.AtomCount; i++)
            {
                int s = d.IndexOf(fr.Species[i]);
                for (int e = start[i]; e < start[i + 1]; e++)
                {
                    int t = d.IndexOf(fr.Species[index[e]]);
                    if (r[e] < min[s, t]) min[s, t] = min[t, s] = r[e];
                }
            }
        }
        return min;
    }

    private static ForceResult[] Evaluate(PairEmbeddingModel model, IReadOnlyList<Frame> frames)
    {
        var ff = new PairEmbeddingForceField(model);
        return frames.Select(fr => ff.Compute(fr)).ToArray();
    }

    /// <summary>Largest per-atom force difference |ΔF_i| (eV/Å) over all frames.</summary>
    public static double MaxForceError(IReadOnlyList<ForceResult> got, IReadOnlyList<ForceResult> want)
    {
        double max = 0;
        for (int f = 0; f < got.Count; f++)
            for (int i = 0; i < got[f].Forces.Length; i += 3)
            {
                double dx = got[f].Forces[i] - want[f].Forces[i], dy = got[f].Forces[i + 1] - want[f].Forces[i + 1], dz = got[f].Forces[i + 2] - want[f].Forces[i + 2];
                max = Math.Max(max, Math.Sqrt(dx * dx + dy * dy + dz * dz));
            }
        return max;
    }

    private static double EnergyErrorPerAtom(IReadOnlyList<ForceResult> got, IReadOnlyList<ForceResult> want)
    {
        double max = 0;
        for (int f = 0; f < got.Count; f++) max = Math.Max(max, Math.Abs(got[f].Energy - want[f].Energy) / Math.Max(1, got[f].Forces.Length / 3));
        return max;
    }

    /// <summary>At most <paramref name="max"/> frames spread evenly over <paramref name="frames"/>, first and last included.</summary>
    public static List<Frame> Spread(IReadOnlyList<Frame> frames, int max)
    {
        if (frames.Count <= max) return frames.ToList();
        return Enumerable.Range(0, max).Select(i => frames[(int)((long)i * (frames.Count - 1) / (max - 1))]).ToList();
    }
}
