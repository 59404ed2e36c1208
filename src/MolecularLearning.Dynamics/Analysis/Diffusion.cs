using MolecularLearning.Core;

namespace MolecularLearning.Dynamics.Analysis;

/// <summary>
/// A self-diffusion coefficient from the Einstein relation MSD(τ) ≈ 6 D τ + c, fitted over lags
/// [FitFromFs, FitToFs]; Error is the standard error over <see cref="Blocks"/> groups of atoms.
/// Value and Error in Å²/ps; the MSD curve (Å²) on lags in fs.
/// </summary>
public sealed record DiffusionCoefficient(string Species, double Value, double Error, int Blocks,
    double FitFromFs, double FitToFs, double[] LagFs, double[] Msd, string ErrorFrom = "molecule groups");

/// <summary>Mean-squared displacements of unwrapped positions and the diffusion coefficient they give.</summary>
public static class Diffusion
{
    /// <summary>Default fit window (fs): past the ballistic regime and the rattling in the first neighbour cage (~0.3 ps), short enough for a 2 ps run.</summary>
    public const double DefaultFitFromFs = 500, DefaultFitToFs = 1000;
    /// <summary>Groups of atoms whose separate fits give the statistical error.</summary>
    public const int DefaultBlocks = 4;
    /// <summary>Time origins are taken about this far apart (fs): closer ones are correlated and only cost time.</summary>
    public const double OriginSpacingFs = 5;

    /// <summary>
    /// Continuous positions of every atom: each frame adds the minimum-image displacement from the previous
    /// one, so atoms that cross the cell wall (wrapped output) keep moving. Needs frames close enough that
    /// no atom moves half a cell between them. With <paramref name="removeDrift"/> the centre-of-mass
    /// displacement of the whole system is subtracted (a drifting box is not diffusion).
    /// </summary>
    public static double[][] Unwrap(IReadOnlyList<Frame> frames, bool removeDrift = true)
    {
        int n = frames[0].AtomCount;
        var result = new double[frames.Count][];
        result[0] = (double[])frames[0].Positions.Clone();
        for (int f = 1; f < frames.Count; f++)
        {
            if (frames[f].AtomCount != n) throw new DataException($"frame {f}: {frames[f].AtomCount} atoms, the first frame has {n}");
            var cell = frames[f].Cell;
            var x = frames[f].Positions; var prev = frames[f - 1].Positions;
            var u = new double[3 * n];
            for (int i = 0; i < n; i++)
            {
                var d = Vec3.At(x, i) - Vec3.At(prev, i);
                if (cell is not null) d = cell.MinimumImage(d);
                (Vec3.At(result[f - 1], i) + d).To(u, i);
            }
            result[f] = u;
        }
        if (removeDrift)
        {
            var species = frames[0].Species;
            double total = species.Sum(s => s.Mass);
            var com0 = CentreOfMass(result[0], species, total);
            foreach (var u in result)
            {
                var shift = CentreOfMass(u, species, total) - com0;
                for (int i = 0; i < n; i++) (Vec3.At(u, i) - shift).To(u, i);
            }
        }
        return result;
    }

    /// <summary>
    /// MSD (Å²) of the given atoms at lags 0..maxLag frames, averaged over the atoms and over time
    /// origins every <paramref name="originStride"/> frames.
    /// </summary>
    public static double[] MeanSquaredDisplacement(double[][] unwrapped, IReadOnlyList<int> atoms, int maxLag, int originStride = 1)
    {
        int frames = unwrapped.Length;
        if (maxLag >= frames) throw new ArgumentOutOfRangeException(nameof(maxLag), $"lag {maxLag} needs more than {frames} frames");
        var msd = new double[maxLag + 1];
        var count = new long[maxLag + 1];
        for (int t0 = 0; t0 < frames - 1; t0 += Math.Max(1, originStride))
        {
            var r0 = unwrapped[t0];
            int top = Math.Min(maxLag, frames - 1 - t0);
            for (int k = 1; k <= top; k++)
            {
                var r = unwrapped[t0 + k];
                double s = 0;
                foreach (int i in atoms)
                {
                    double dx = r[3 * i] - r0[3 * i], dy = r[3 * i + 1] - r0[3 * i + 1], dz = r[3 * i + 2] - r0[3 * i + 2];
                    s += dx * dx + dy * dy + dz * dz;
                }
                msd[k] += s;
                count[k] += atoms.Count;
            }
        }
        for (int k = 1; k <= maxLag; k++) msd[k] = count[k] > 0 ? msd[k] / count[k] : double.NaN;
        return msd;
    }

    /// <summary>
    /// D of the atoms of <paramref name="species"/> from frames <paramref name="dtFs"/> apart: the slope of
    /// the MSD over lags [fromFs, toFs] by least squares, / 6. The error is the standard error of the same
    /// fit on independent stretches of the run (2 × toFs each, up to 10) when there are at least
    /// <paramref name="blocks"/> of them; otherwise on <paramref name="blocks"/> interleaved groups of the
    /// atoms, the sampling error over molecules, which leaves out correlations along the run (a lower bound).
    /// </summary>
    public static DiffusionCoefficient Coefficient(double[][] unwrapped, IReadOnlyList<Species> atomSpecies, string species, double dtFs,
        double fromFs = DefaultFitFromFs, double toFs = DefaultFitToFs, int blocks = DefaultBlocks)
    {
        var atoms = Enumerable.Range(0, atomSpecies.Count).Where(i => atomSpecies[i].Symbol == species).ToList();
        if (atoms.Count == 0) throw new DataException($"no {species} atoms for the diffusion coefficient");
        if (!(dtFs > 0) || !(fromFs >= 0) || !(toFs > fromFs)) throw new ArgumentException($"fit window {fromFs}–{toFs} fs at {dtFs} fs per frame");
        int hiLag = (int)Math.Floor(toFs / dtFs + 1e-9);
        int loLag = (int)Math.Ceiling(fromFs / dtFs - 1e-9);
        if (hiLag >= unwrapped.Length) throw new DataException($"the MSD fit up to {toFs} fs needs a longer run ({(unwrapped.Length - 1) * dtFs} fs)");
        if (hiLag - loLag < 2) throw new DataException($"the MSD fit window {fromFs}–{toFs} fs holds fewer than 3 frames {dtFs} fs apart");
        int stride = Math.Max(1, (int)Math.Round(OriginSpacingFs / dtFs));
        var msd = MeanSquaredDisplacement(unwrapped, atoms, hiLag, stride);
        double value = Slope(msd, loLag, hiLag, dtFs) / 6 * Units.FemtosecondsPerPicosecond;
        // Independent stretches of the run, each twice the longest lag, when there are enough of them; else
        // groups of molecules, which miss the correlations along the run (on 2 ps pieces of 10 ps runs the
        // D_O scatter was ~2× the molecule-group error).
        int segment = 2 * hiLag, segments = unwrapped.Length / segment;
        bool inTime = segments >= blocks;
        if (inTime) blocks = Math.Min(segments, 10); else blocks = Math.Clamp(blocks, 1, atoms.Count);
        var perBlock = new double[blocks];
        for (int b = 0; b < blocks; b++)
        {
            var part = inTime ? MeanSquaredDisplacement(unwrapped[(b * segment)..((b + 1) * segment)], atoms, hiLag, stride)
                : MeanSquaredDisplacement(unwrapped, atoms.Where((_, k) => k % blocks == b).ToList(), hiLag, stride);
            perBlock[b] = Slope(part, loLag, hiLag, dtFs) / 6 * Units.FemtosecondsPerPicosecond;
        }
        var spread = MeanStd.Of(perBlock);
        double error = blocks > 1 ? spread.Std / Math.Sqrt(blocks) : double.NaN;
        var lags = Enumerable.Range(0, hiLag + 1).Select(k => k * dtFs).ToArray();
        return new DiffusionCoefficient(species, value, error, blocks, loLag * dtFs, hiLag * dtFs, lags, msd,
            inTime ? "time blocks" : "molecule groups");
    }

    /// <summary>Least-squares slope (Å²/fs) of msd[k] against k·dt over k in [lo, hi].</summary>
    private static double Slope(double[] msd, int lo, int hi, double dt)
    {
        double n = hi - lo + 1, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int k = lo; k <= hi; k++)
        {
            double x = k * dt, y = msd[k];
            sx += x; sy += y; sxx += x * x; sxy += x * y;
        }
        return (n * sxy - sx * sy) / (n * sxx - sx * sx);
    }

    private static Vec3 CentreOfMass(double[] x, Species[] species, double total)
    {
        var c = new Vec3(0, 0, 0);
        for (int i = 0; i < species.Length; i++) c += species[i].Mass * Vec3.At(x, i);
        return (1 / total) * c;
    }
}
