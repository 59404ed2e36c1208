using MolecularLearning.Core;

namespace MolecularLearning.Dynamics;

/// <summary>Mean and (sample) standard deviation of a set of values.</summary>
public readonly record struct MeanStd(double Mean, double Std, long Count)
{
    public static MeanStd Of(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return new(double.NaN, double.NaN, 0);
        double sum = 0;
        foreach (var v in values) sum += v;
        double mean = sum / values.Length, ss = 0;
        foreach (var v in values) ss += (v - mean) * (v - mean);
        return new(mean, values.Length > 1 ? Math.Sqrt(ss / (values.Length - 1)) : 0, values.Length);
    }
}

/// <summary>A histogram over [Min, Max) with equal bins; <see cref="Density"/> integrates to one.</summary>
public sealed class Histogram(double min, double max, int bins)
{
    public double Min { get; } = min;
    public double Max { get; } = max;
    public long[] Counts { get; } = new long[bins];
    public long Total { get; private set; }
    public double BinWidth => (Max - Min) / Counts.Length;
    public double Centre(int bin) => Min + (bin + 0.5) * BinWidth;

    public void Add(double value)
    {
        int b = (int)Math.Floor((value - Min) / BinWidth);
        if (b >= 0 && b < Counts.Length) Counts[b]++;
        Total++; // values outside still count, so the density shows what fraction fell inside
    }

    public double[] Centres() => Enumerable.Range(0, Counts.Length).Select(Centre).ToArray();
    public double[] Density() => Counts.Select(c => Total == 0 ? 0 : c / (Total * BinWidth)).ToArray();
}

/// <summary>O–H bonds: every H whose nearest heavy atom is an O, to that O (minimum image), over all frames.</summary>
public sealed record BondObservable(MeanStd Length, double Max, Histogram Distribution, int[] TrackedHydrogens, double[] Times, double[][] TrackedSeries);

/// <summary>H–O–H angles (degrees) of oxygens with exactly two hydrogens; BrokenMolecules counts oxygens with another number.</summary>
public sealed record AngleObservable(MeanStd Angle, Histogram Distribution, long BrokenMolecules, long Molecules);

/// <summary>A radial distribution function g_ab(r) and its first peak.</summary>
public sealed record RadialDistribution(string Pair, double[] R, double[] G, double BinWidth, double FirstPeakR, double FirstPeakHeight);

/// <summary>
/// Structural and thermal observables of water trajectories: temperature, O–H bond lengths,
/// H–O–H angles and radial distribution functions with periodic images.
/// </summary>
public static class Observables
{
    /// <summary>
    /// Instantaneous temperature (K) of every frame with velocities, over
    /// <paramref name="degreesOfFreedom"/> (default 3N − 3, as CP2K reports). Frames without velocities are skipped.
    /// </summary>
    public static (double[] Times, double[] Temperatures) Temperature(IReadOnlyList<Frame> frames, int? degreesOfFreedom = null)
    {
        var t = new List<double>(frames.Count); var temps = new List<double>(frames.Count);
        for (int f = 0; f < frames.Count; f++)
        {
            if (frames[f].Velocities is null) continue;
            t.Add(TimeOf(frames[f], f));
            temps.Add(frames[f].Temperature(degreesOfFreedom));
        }
        return ([.. t], [.. temps]);
    }

    /// <summary>Time (fs) of a frame, or its index when it has none.</summary>
    public static double TimeOf(Frame frame, int index) => frame.Time ?? index;

    /// <summary>For every H, the index of the nearest of <paramref name="partners"/> (the heavy atoms: its bond partner) and the distance (minimum image).</summary>
    public static void NearestPartner(Frame frame, ReadOnlySpan<int> hydrogens, ReadOnlySpan<int> partners, Span<int> nearest, Span<double> distance)
    {
        var x = frame.Positions;
        for (int h = 0; h < hydrogens.Length; h++)
        {
            var ph = Vec3.At(x, hydrogens[h]);
            double best = double.MaxValue; int bestO = -1;
            foreach (var o in partners)
            {
                var d = Displacement(frame.Cell, ph, Vec3.At(x, o));
                double r2 = d.Norm2();
                if (r2 < best) { best = r2; bestO = o; }
            }
            nearest[h] = bestO;
            distance[h] = Math.Sqrt(best);
        }
    }

    /// <summary>
    /// O–H bond lengths over all frames, plus the time series of <paramref name="tracked"/> hydrogens spread over those
    /// bonded to an O in the first frame. An H whose nearest heavy atom is not an O (C–H, N–H) is no O–H bond.
    /// </summary>
    public static BondObservable OhBonds(IReadOnlyList<Frame> frames, int tracked = 4)
    {
        var (hydrogens, _, heavy) = SpeciesIndices(frames, "O–H bonds");
        var nearest = new int[hydrogens.Length]; var dist = new double[hydrogens.Length];
        NearestPartner(frames[0], hydrogens, heavy, nearest, dist);
        var onOxygen = Enumerable.Range(0, hydrogens.Length).Where(k => IsOxygen(frames[0], nearest[k])).ToArray();
        int nTracked = Math.Min(tracked, onOxygen.Length);
        var trackedIdx = Enumerable.Range(0, nTracked).Select(k => onOxygen[k * onOxygen.Length / nTracked]).ToArray();
        var series = trackedIdx.Select(_ => new double[frames.Count]).ToArray();
        var times = new double[frames.Count];
        var all = new List<double>(frames.Count * hydrogens.Length);
        var hist = new Histogram(0.8, 1.2, 80);
        double max = 0;
        for (int f = 0; f < frames.Count; f++)
        {
            NearestPartner(frames[f], hydrogens, heavy, nearest, dist);
            for (int k = 0; k < hydrogens.Length; k++)
            {
                if (!IsOxygen(frames[f], nearest[k])) continue;
                all.Add(dist[k]); hist.Add(dist[k]); max = Math.Max(max, dist[k]);
            }
            times[f] = TimeOf(frames[f], f);
            for (int k = 0; k < nTracked; k++) series[k][f] = dist[trackedIdx[k]];
        }
        return new(MeanStd.Of(all.ToArray()), max, hist, trackedIdx.Select(k => hydrogens[k]).ToArray(), times, series);
    }

    /// <summary>H–O–H angles: each H belongs to its nearest heavy atom; an O with exactly two H gives one angle.</summary>
    public static AngleObservable HohAngles(IReadOnlyList<Frame> frames)
    {
        var (hydrogens, oxygens, heavy) = SpeciesIndices(frames, "H–O–H angles");
        var nearest = new int[hydrogens.Length]; var dist = new double[hydrogens.Length];
        var first = new Dictionary<int, int>(); var count = new Dictionary<int, int>(); var second = new Dictionary<int, int>();
        var angles = new List<double>();
        var hist = new Histogram(60, 150, 90);
        long broken = 0, molecules = 0;
        foreach (var frame in frames)
        {
            NearestPartner(frame, hydrogens, heavy, nearest, dist);
            first.Clear(); second.Clear(); count.Clear();
            for (int h = 0; h < hydrogens.Length; h++)
            {
                int o = nearest[h];
                int c = count.GetValueOrDefault(o);
                if (c == 0) first[o] = hydrogens[h]; else if (c == 1) second[o] = hydrogens[h];
                count[o] = c + 1;
            }
            foreach (var o in oxygens)
            {
                molecules++;
                if (count.GetValueOrDefault(o) != 2) { broken++; continue; }
                var po = Vec3.At(frame.Positions, o);
                var a = Displacement(frame.Cell, po, Vec3.At(frame.Positions, first[o]));
                var b = Displacement(frame.Cell, po, Vec3.At(frame.Positions, second[o]));
                double angle = Math.Acos(Math.Clamp(a.Dot(b) / (a.Norm() * b.Norm()), -1, 1)) * 180 / Math.PI;
                angles.Add(angle);
                hist.Add(angle);
            }
        }
        return new(MeanStd.Of(angles.ToArray()), hist, broken, molecules);
    }

    /// <summary>
    /// g_ab(r) with periodic images, for r up to half the smallest cell height (where each pair has at most one
    /// image within r, so the minimum image counts every pair once). Normalised for the periodic box:
    /// g = V / (N_a N_b') · n(r, r+dr) / (4/3 π ((r+dr)³ − r³)), N_b' = N_b − 1 when a = b, averaged over frames.
    /// </summary>
    public static RadialDistribution Rdf(IReadOnlyList<Frame> frames, string a, string b, double binWidth = 0.04, double? rMax = null)
    {
        if (frames.Count == 0) throw new DataException("no frames to compute g(r) from");
        double limit = double.MaxValue;
        foreach (var f in frames)
            limit = Math.Min(limit, 0.5 * (f.Cell ?? throw new DataException($"g_{a}{b}(r) needs a periodic cell; frame {f.Step?.ToString() ?? "?"} has none")).MinHeight);
        double max = Math.Min(rMax ?? limit, limit);
        int bins = Math.Max(1, (int)Math.Floor(max / binWidth));
        var g = new double[bins];
        var counts = new long[bins];
        int[] ia = Indices(frames[0], a), ib = Indices(frames[0], b);
        bool same = a == b;
        int pairsPerAtom = same ? ia.Length - 1 : ib.Length;
        if (ia.Length == 0 || pairsPerAtom <= 0) throw new DataException($"g_{a}{b}(r): the frames have too few {a} or {b} atoms");
        foreach (var frame in frames)
        {
            Array.Clear(counts);
            var x = frame.Positions; var cell = frame.Cell!;
            for (int p = 0; p < ia.Length; p++)
            {
                var pi = Vec3.At(x, ia[p]);
                for (int q = same ? p + 1 : 0; q < ib.Length; q++)
                {
                    if (!same && ia[p] == ib[q]) continue;
                    double rij = cell.MinimumImage(Vec3.At(x, ib[q]) - pi).Norm();
                    int bin = (int)(rij / binWidth);
                    if (bin < bins) counts[bin] += same ? 2 : 1; // ordered pairs
                }
            }
            double norm = cell.Volume / ((double)ia.Length * pairsPerAtom * frames.Count);
            for (int k = 0; k < bins; k++)
            {
                double r0 = k * binWidth, r1 = r0 + binWidth;
                g[k] += counts[k] * norm / (4.0 / 3 * Math.PI * (r1 * r1 * r1 - r0 * r0 * r0));
            }
        }
        var r = Enumerable.Range(0, bins).Select(k => (k + 0.5) * binWidth).ToArray();
        var (peakR, peakH) = FirstPeak(r, g);
        return new(a + b, r, g, binWidth, peakR, peakH);
    }

    /// <summary>
    /// The first peak of g(r): the highest point of the first stretch where g (smoothed over three bins)
    /// rises above one. NaN when g never does.
    /// </summary>
    public static (double R, double Height) FirstPeak(double[] r, double[] g)
    {
        int n = g.Length;
        double Smooth(int k) => (g[Math.Max(0, k - 1)] + g[k] + g[Math.Min(n - 1, k + 1)]) / 3;
        int start = -1;
        for (int k = 0; k < n; k++) if (Smooth(k) > 1) { start = k; break; }
        if (start < 0) return (double.NaN, double.NaN);
        int best = start;
        for (int k = start; k < n && Smooth(k) > 1; k++) if (g[k] > g[best]) best = k;
        return (r[best], g[best]);
    }

    private static int[] Indices(Frame frame, string symbol)
    {
        var list = new List<int>();
        for (int i = 0; i < frame.AtomCount; i++) if (frame.Species[i].Symbol == symbol) list.Add(i);
        return [.. list];
    }

    /// <summary>The H, the O and the heavy (not H) atoms: an H is bonded to its nearest heavy atom, so C–H and N–H are not taken for O–H.</summary>
    private static (int[] Hydrogens, int[] Oxygens, int[] Heavy) SpeciesIndices(IReadOnlyList<Frame> frames, string what)
    {
        if (frames.Count == 0) throw new DataException($"no frames for {what}");
        var h = Indices(frames[0], "H"); var o = Indices(frames[0], "O");
        if (h.Length == 0 || o.Length == 0) throw new DataException($"{what} need H and O atoms; the frames have {h.Length} H and {o.Length} O");
        var heavy = Enumerable.Range(0, frames[0].AtomCount).Where(i => frames[0].Species[i].Symbol != "H").ToArray();
        return (h, o, heavy);
    }

    private static bool IsOxygen(Frame frame, int atom) => frame.Species[atom].Symbol == "O";

    private static Vec3 Displacement(Cell? cell, Vec3 from, Vec3 to) => cell is null ? to - from : cell.MinimumImage(to - from);
}
