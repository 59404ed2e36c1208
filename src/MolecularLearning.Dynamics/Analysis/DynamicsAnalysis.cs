using System.Globalization;
using MolecularLearning.Core;

namespace MolecularLearning.Dynamics.Analysis;

/// <summary>VACF (normalised to 1 at lag 0) and vibrational density of states of one species, with the water peaks.</summary>
public sealed record SpeciesVdos(string Species, double[] LagFs, double[] Vacf, double MeanSquareVelocity, Spectrum Spectrum,
    double StretchCm1, double BendCm1);

/// <summary>
/// The dynamics of a water trajectory: per-species velocity autocorrelation and its spectrum, the
/// O–H stretch and H–O–H bend peaks of the hydrogen spectrum, and the oxygen self-diffusion coefficient.
/// </summary>
public sealed class DynamicsAnalysis
{
    /// <summary>Peak windows (cm⁻¹): the H–O–H bend and the O–H stretch of liquid water, classical MD.</summary>
    public const double BendFromCm1 = 1200, BendToCm1 = 1900, StretchFromCm1 = 2800, StretchToCm1 = 4200;
    /// <summary>Longest VACF lag (fs): 1 ps gives bins of ~4 cm⁻¹ after padding and a Hann width of ~35 cm⁻¹.</summary>
    public const double DefaultMaxLagFs = 1000;

    /// <summary>"trajectory" (the frames' velocities) or "finite differences" (central, from unwrapped positions).</summary>
    public required string VelocitySource { get; init; }
    public double FrameIntervalFs { get; init; }
    public double MaxLagFs { get; init; }
    public double NyquistCm1 { get; init; }
    public required IReadOnlyDictionary<string, SpeciesVdos> Vdos { get; init; }
    public DiffusionCoefficient? OxygenDiffusion { get; init; }
    /// <summary>Why something could not be measured (e.g. a run too short for the MSD fit); null when all was.</summary>
    public string? Note { get; init; }

    /// <summary>
    /// Analyses frames evenly spaced in time; returns null with the reason when it cannot
    /// (no times, uneven spacing, too few frames).
    /// </summary>
    public static DynamicsAnalysis? TryAnalyse(IReadOnlyList<Frame> frames, out string? reason,
        double maxLagFs = DefaultMaxLagFs, double fitFromFs = Diffusion.DefaultFitFromFs, double fitToFs = Diffusion.DefaultFitToFs)
    {
        reason = null;
        var inv = CultureInfo.InvariantCulture;
        if (frames.Count < 8) { reason = $"{frames.Count} frames are too few for dynamics"; return null; }
        if (frames.Any(f => f.Time is null)) { reason = "frames carry no time, so no dynamics"; return null; }
        double dt = (frames[^1].Time!.Value - frames[0].Time!.Value) / (frames.Count - 1);
        if (!(dt > 0)) { reason = "frame times do not increase"; return null; }
        for (int f = 1; f < frames.Count; f++)
        {
            double step = frames[f].Time!.Value - frames[f - 1].Time!.Value;
            if (Math.Abs(step - dt) > 1e-3 * dt + 1e-6)
            { reason = string.Create(inv, $"frames are not evenly spaced in time (frame {f}: {step:0.###} fs after the previous, mean {dt:0.###} fs)"); return null; }
        }
        int n0 = frames[0].AtomCount;
        for (int f = 1; f < frames.Count; f++)
            if (frames[f].AtomCount != n0) { reason = $"frame {f} has {frames[f].AtomCount} atoms, the first {n0}"; return null; }

        var unwrapped = Diffusion.Unwrap(frames, removeDrift: true);
        bool fromTrajectory = frames.All(f => f.Velocities is not null);
        // Velocity series per atom and component; central differences lose the first and last frame.
        int n = fromTrajectory ? frames.Count : frames.Count - 2;
        var velocity = new double[3 * n0][];
        for (int c = 0; c < 3 * n0; c++)
        {
            var v = velocity[c] = new double[n];
            for (int t = 0; t < n; t++)
                v[t] = fromTrajectory ? frames[t].Velocities![c] : (unwrapped[t + 2][c] - unwrapped[t][c]) / (2 * dt);
        }
        int maxLag = (int)Math.Min(Math.Floor(maxLagFs / dt + 1e-9), (n - 1) / 2);
        var species = frames[0].Species;
        double nyquist = Spectra.NyquistCm1(dt);
        // Coarser frames fold the stretch back into the windows (at 5 fs, 3600 appears at ~3070): no peaks then.
        bool resolved = nyquist >= StretchToCm1;
        var vdos = new Dictionary<string, SpeciesVdos>();
        foreach (var s in frames[0].DistinctSpecies())
        {
            var series = new List<double[]>();
            for (int i = 0; i < n0; i++)
                if (species[i] == s) for (int k = 0; k < 3; k++) series.Add(velocity[3 * i + k]);
            var c = Spectra.Autocorrelation(series, maxLag);
            double c0 = c[0];
            var normalised = c.Select(x => c0 > 0 ? x / c0 : 0).ToArray();
            var spectrum = Spectra.FromCorrelation(normalised, dt);
            vdos[s.Symbol] = new SpeciesVdos(s.Symbol, Enumerable.Range(0, maxLag + 1).Select(k => k * dt).ToArray(), normalised, 3 * c0,
                spectrum, resolved ? Spectra.Peak(spectrum, StretchFromCm1, StretchToCm1) : double.NaN,
                resolved ? Spectra.Peak(spectrum, BendFromCm1, BendToCm1) : double.NaN);
        }
        var notes = new List<string>();
        if (!resolved)
            notes.Add(string.Create(inv, $"frames {dt:0.###} fs apart resolve only up to {nyquist:0} cm⁻¹ (Nyquist), which folds the O–H stretch into the peak windows: no peaks; write frames at least every {1 / (2 * StretchToCm1 * Spectra.LightCmPerFs):0.#} fs"));
        DiffusionCoefficient? diffusion = null;
        double span = (frames.Count - 1) * dt;
        if (species.Any(s => s.Symbol == "O"))
        {
            if (span < fitToFs * 1.5)
            {
                // A short run: fit over the same fractions of what it has rather than give nothing.
                double to = span / 1.5 * (fitToFs > 0 ? 1 : 0), from = to * fitFromFs / fitToFs;
                notes.Add(string.Create(inv, $"run of {span:0} fs is short for the MSD fit over {fitFromFs:0}–{fitToFs:0} fs; fitted over {from:0}–{to:0} fs"));
                fitFromFs = from; fitToFs = to;
            }
            try { diffusion = Diffusion.Coefficient(unwrapped, species, "O", dt, fitFromFs, fitToFs); }
            catch (DataException e) { notes.Add(e.Message); }
        }
        return new DynamicsAnalysis
        {
            VelocitySource = fromTrajectory ? "trajectory" : "finite differences",
            FrameIntervalFs = dt,
            MaxLagFs = maxLag * dt,
            NyquistCm1 = nyquist,
            Vdos = vdos,
            OxygenDiffusion = diffusion,
            Note = notes.Count > 0 ? string.Join("; ", notes) : null,
        };
    }
}
