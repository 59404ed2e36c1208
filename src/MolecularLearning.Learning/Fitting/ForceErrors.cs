using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>Force error of one species: relRMSE = sqrt(Σ|ΔF|² / Σ|F_ref|²), RMSE per component (eV/Å).</summary>
public sealed record SpeciesError(double RelRmse, double Rmse, long Atoms);

/// <summary>Per-species force errors over a set of frames (species keyed by symbol, in order of appearance).</summary>
public sealed record ForceErrorReport(IReadOnlyDictionary<string, SpeciesError> Species, int Frames);

/// <summary>
/// One frame's force error and extrapolation signal: RMSE per force component (eV/Å) over all atoms and per species (in the
/// report's species order); the signal (NaN when the model records no training ranges), the atom furthest out (−1) and its
/// invariant.
/// </summary>
public sealed record FrameError(int Frame, double ForceRmse, double[] SpeciesRmse, double Extrapolation, int Atom, string? Invariant);

public static class ForceErrors
{
    /// <summary>
    /// Compares a force field's forces with the reference forces of each frame. Frames without forces
    /// are an error (named by index).
    /// </summary>
    public static ForceErrorReport Evaluate(IForceField forceField, IReadOnlyList<Frame> frames)
    {
        var sums = new Dictionary<string, (double Err, double Ref, long Atoms)>();
        var order = new List<string>();
        var result = new ForceResult();
        for (int f = 0; f < frames.Count; f++)
        {
            var frame = frames[f];
            var reference = frame.Forces ?? throw DataException.At(null, f, "has no reference forces to compare with");
            forceField.Compute(frame.Species, frame.Positions, frame.Cell, result);
            Accumulate(frame.Species, result.Forces, reference, sums, order);
        }
        return Build(sums, order, frames.Count);
    }

    /// <summary>As <see cref="Evaluate"/>, and per frame the error and the extrapolation signal the force field reported.</summary>
    public static (ForceErrorReport Report, IReadOnlyList<FrameError> Frames) EvaluateFrames(IForceField forceField, IReadOnlyList<Frame> frames)
    {
        var sums = new Dictionary<string, (double Err, double Ref, long Atoms)>();
        var order = new List<string>();
        var result = new ForceResult();
        var perFrame = new List<(int, double, Dictionary<string, (double Err, double Ref, long Atoms)>, double, int, string?)>();
        for (int f = 0; f < frames.Count; f++)
        {
            var frame = frames[f];
            var reference = frame.Forces ?? throw DataException.At(null, f, "has no reference forces to compare with");
            forceField.Compute(frame.Species, frame.Positions, frame.Cell, result);
            Accumulate(frame.Species, result.Forces, reference, sums, order);
            var mine = new Dictionary<string, (double Err, double Ref, long Atoms)>();
            Accumulate(frame.Species, result.Forces, reference, mine, []);
            double err = mine.Values.Sum(v => v.Err);
            perFrame.Add((f, Math.Sqrt(err / (3.0 * frame.AtomCount)), mine, result.Extrapolation, result.ExtrapolationAtom, result.ExtrapolationInvariant));
        }
        var rows = perFrame.Select(x => new FrameError(x.Item1, x.Item2,
            [.. order.Select(sym => x.Item3.TryGetValue(sym, out var a) ? Math.Sqrt(a.Err / (3.0 * a.Atoms)) : double.NaN)],
            x.Item4, x.Item5, x.Item6)).ToList();
        return (Build(sums, order, frames.Count), rows);
    }

    /// <summary>Spearman's rank correlation of two equally long series (average ranks for ties); NaN when either is constant or has NaN.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("series differ in length");
        if (x.Count < 2 || x.Any(double.IsNaN) || y.Any(double.IsNaN)) return double.NaN;
        return MathNet.Numerics.Statistics.Correlation.Spearman(x, y);
    }

    /// <summary>Errors of predicted against reference forces (3N each) for explicit arrays.</summary>
    public static ForceErrorReport Compare(IReadOnlyList<(Species[] Species, double[] Predicted, double[] Reference)> items)
    {
        var sums = new Dictionary<string, (double Err, double Ref, long Atoms)>();
        var order = new List<string>();
        foreach (var (s, p, r) in items) Accumulate(s, p, r, sums, order);
        return Build(sums, order, items.Count);
    }

    private static void Accumulate(Species[] species, double[] predicted, double[] reference,
        Dictionary<string, (double Err, double Ref, long Atoms)> sums, List<string> order)
    {
        for (int i = 0; i < species.Length; i++)
        {
            double err = 0, refn = 0;
            for (int c = 0; c < 3; c++)
            {
                double d = predicted[3 * i + c] - reference[3 * i + c];
                err += d * d;
                refn += reference[3 * i + c] * reference[3 * i + c];
            }
            var sym = species[i].Symbol;
            if (!sums.TryGetValue(sym, out var acc)) { order.Add(sym); acc = default; }
            sums[sym] = (acc.Err + err, acc.Ref + refn, acc.Atoms + 1);
        }
    }

    private static ForceErrorReport Build(Dictionary<string, (double Err, double Ref, long Atoms)> sums, List<string> order, int frames)
    {
        var dict = new Dictionary<string, SpeciesError>();
        foreach (var sym in order)
        {
            var (err, refn, atoms) = sums[sym];
            dict[sym] = new SpeciesError(refn > 0 ? Math.Sqrt(err / refn) : double.NaN, Math.Sqrt(err / (3.0 * atoms)), atoms);
        }
        return new ForceErrorReport(dict, frames);
    }
}
